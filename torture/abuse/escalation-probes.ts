/**
 * @module
 * A pool-operator reaching for pool-internal power: `pool.islet_join_request` (which used
 * to hand out the pool secret) and `session.islet_pool_login` (which took that secret for
 * any host uuid) must both be refused, no phantom host may appear, and whatever the
 * operator holds must not create users or add update keys.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { RpcClient } from '../rpc-client.js';
import type { SuiteRecorder } from '../suite-result.js';

const RBAC = ['RBAC_PERMISSION_DENIED', 'SESSION_INVALID'];
const LOGIN = ['SESSION_AUTHENTICATION_FAILED', 'HOST_UNKNOWN_TO_MASTER', 'RBAC_PERMISSION_DENIED', 'SESSION_INVALID', 'INVALID_VALUE', 'UUID_INVALID'];

export async function escalationProbes(rec: SuiteRecorder, api: RpcClient, root: string, rootPassword: string): Promise<number> {
  const must = async (method: string, params: unknown[]) => {
    const r = await api.call(method, params);
    if (!r.ok) throw new Error(`${method}: ${r.transport ?? r.error.join(' ')}`);
    return r.value;
  };
  const [opRole] = (await must('role.get_by_name_label', [root, 'pool-operator'])) as string[];
  await must('subject.islet_create_local_user', [root, 'abuse-operator', 'operator-pw', opRole]);
  const op = String(await must('session.login_with_password', ['abuse-operator', 'operator-pw', '1.1', 'abuse']));
  const hostsBefore = ((await must('host.get_all', [root])) as string[]).length;
  const [master] = (await must('host.get_all', [root])) as string[];
  const masterUuid = String(await must('host.get_uuid', [root, master]));
  let probes = 0;
  /** `refusals`: the error codes that mean "not allowed"; any other answer is a failure. */
  const probe = async (label: string, method: string, params: unknown[], refusals: readonly string[]): Promise<unknown> => {
    probes++;
    const r = await api.call(method, params);
    const outcome = r.ok ? `ALLOWED -> ${JSON.stringify(r.value).slice(0, 80)}` : r.transport ?? r.error.slice(0, 2).join(' ');
    rec.figure(`probe ${label}`, outcome);
    rec.check(!r.ok && !r.transport && refusals.includes(r.error[0]!), `${label}: ${outcome}`);
    return r.ok ? r.value : undefined;
  };

  const phantom = { host: { ref: `OpaqueRef:${randomUUID()}`, row: { uuid: randomUUID(), name_label: 'phantom', address: '127.0.0.99', hostname: 'phantom' } } };
  const reply = await probe('operator pool.islet_join_request', 'pool.islet_join_request', [op, JSON.stringify(phantom)], RBAC);
  const secret = reply ? String((JSON.parse(String(reply)) as { secret?: string }).secret ?? '') : '';
  const stolen = await probe('session.islet_pool_login with what the operator got', 'session.islet_pool_login', [phantom.host.row.uuid, secret || randomBytes(32).toString('hex')], LOGIN);
  await probe("session.islet_pool_login as the master with a guess", 'session.islet_pool_login', [masterUuid, randomBytes(32).toString('hex')], LOGIN);
  await probe('session.islet_pool_login with the root password', 'session.islet_pool_login', [masterUuid, rootPassword], LOGIN);
  for (const s of [op, ...(stolen ? [String(stolen)] : [])]) {
    const who = s === op ? 'operator' : 'stolen internal session';
    await probe(`${who} subject.islet_create_local_user`, 'subject.islet_create_local_user', [s, 'abuse-admin', 'x', opRole], RBAC);
    await probe(`${who} pool.islet_add_update_key`, 'pool.islet_add_update_key', [s, 'not a key'], RBAC);
  }
  probes++;
  const hostsAfter = ((await must('host.get_all', [root])) as string[]).length;
  rec.figure('probe phantom hosts', `${hostsAfter - hostsBefore} host(s) added`);
  rec.check(hostsAfter === hostsBefore, `a pool-operator added ${hostsAfter - hostsBefore} host(s)`);
  return probes;
}
