/**
 * @module
 * What a member lets through: as xapi, a member serves no client. Logging in answers
 * HOST_IS_SLAVE with the master's address (clients retry there), and so does any other
 * call, except the calls hosts make on one another (pool-internal sessions, `islet_`
 * messages), local logins meant for a member whose master is gone (and what such a
 * session then does), the emergency calls, and a client finishing with a task it started
 * before this host joined a pool. Every call of a session another host opened with its
 * credential is checked here first (the host is still in the pool with that credential).
 */
import { ApiError } from '../core/api-error.js';
import type { SessionInfo } from '../core/ports/sessions.js';
import type { ClassDecl, MessageDecl } from '../datamodel/dsl.js';
import type { PoolNode } from './pool-node.js';

const ALWAYS = new Set([
  'session.slave_local_login_with_password',
  'session.local_logout',
  'session.logout',
  'pool.emergency_transition_to_master',
  'pool.emergency_reset_master',
]);

export function poolGate(node: PoolNode) {
  return (entry: { cls: ClassDecl; msg: MessageDecl }, session: SessionInfo | undefined): void => {
    const name = `${entry.cls.name}.${entry.msg.name}`;
    if (session?.poolHost) node.checkPoolSession(session, name);
    if (node.isMaster()) return;
    if (entry.msg.name.startsWith('islet_') || ALWAYS.has(name)) return;
    if (session && (session.internal || session.originator === 'slave_local')) return;
    if (session && entry.cls.name === 'task') return;
    throw new ApiError('HOST_IS_SLAVE', [node.masterAddressForClients()]);
  };
}
