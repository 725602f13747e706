/**
 * @module
 * The `PoolMembership` port as the pool layer fills it: each member is one of the
 * membership, replication or lifecycle steps this folder implements, run on this host's
 * pool node.
 */
import { EventEmitter } from 'node:events';
import { ApiError } from '../core/api-error.js';
import type { PoolMembership } from '../core/ports/pool-membership.js';
import type { Ref } from '../core/ref.js';
import type { ForwardedWrite } from './forwarding-pool-db.js';
import { parseHostPort } from './host-address.js';
import {
  acceptHeartbeat, acceptJoin, confirmJoin, designateNewMaster, ejectHost, emergencyTransition, forgetHost, joinPool, leavePool,
  parseJoinRequest, recoverSlaves, takeOver,
} from './pool-membership.js';
import type { PoolNode } from './pool-node.js';
import { applyForwarded, changesFor } from './replication.js';

export function poolMembership(node: PoolNode): PoolMembership {
  /** The generation each member last asked changes from: what it has applied. */
  const applied = new Map<string, number>();
  const progress = new EventEmitter();
  progress.setMaxListeners(0);
  return {
    join: (address, user, password) => joinPool(node, address, user, password),
    eject: (host) => ejectHost(node, host),
    forget: (host) => forgetHost(node, host),
    designateNewMaster: (host) => designateNewMaster(node, host),
    emergencyTransitionToMaster: () => emergencyTransition(node),
    followMaster: (address) => node.followMaster(parseHostPort(address, node.port)),
    recoverSlaves: () => recoverSlaves(node),
    assertMaster: () => node.assertMaster(),
    acceptJoin: (request) => acceptJoin(node, parseJoinRequest(request)),
    confirmJoin: (hostUuid) => confirmJoin(node, hostUuid),
    acceptHeartbeat: (host, status) => acceptHeartbeat(node, host, status),
    async dbChanges(since, timeoutMs, fromHostUuid, stopping) {
      node.assertMaster();
      if (fromHostUuid) {
        applied.set(fromHostUuid, since);
        progress.emit('applied');
      }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const u = changesFor(node.db, node.fields, since);
        const remaining = deadline - Date.now();
        if (u.kind === 'dump' || u.changes.length > 0 || remaining <= 0 || stopping?.aborted) return JSON.stringify(u);
        // Only memory-only objects (tasks, sessions) changed: nothing to send yet.
        since = u.gen;
        await node.db.waitForChange(since, remaining, stopping);
        if (!node.isMaster()) node.assertMaster();
      }
    },
    async syncDatabase(timeoutMs) {
      node.assertMaster();
      const target = node.db.generation;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // Caught up: past the generation asked for, or nothing replicated since (tasks and
        // sessions, which stay on the master, move the generation without reaching members).
        const caughtUp = (uuid: string) => {
          const at = applied.get(uuid);
          if (at === undefined) return false;
          if (at >= target) return true;
          const u = changesFor(node.db, node.fields, at);
          return u.kind !== 'dump' && u.changes.length === 0;
        };
        const behind = node.db.all('host').filter(([ref, h]) => ref !== node.self && node.isLive(ref) && !caughtUp(String(h.uuid)));
        if (behind.length === 0) return;
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new ApiError('HOST_OFFLINE', [behind[0]![0]]);
        await new Promise<void>((resolve) => {
          const done = () => { clearTimeout(timer); progress.off('applied', done); resolve(); };
          const timer = setTimeout(done, Math.min(remaining, 1000));
          progress.on('applied', done);
        });
      }
    },
    dbApply: (writes) => {
      node.assertMaster();
      applyForwarded(node.db, writes as ForwardedWrite[]);
    },
    takeOver: () => takeOver(node),
    leave: () => leavePool(node),
    poolLogin: (hostUuid, credential) => node.poolLogin(hostUuid, credential).ref,
    requestLifecycle: (action) => node.o.lifecycle.request(action),
    markDead: (host: Ref<'host'>) => node.monitor?.markDead(host),
  };
}
