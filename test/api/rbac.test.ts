/**
 * Roles enforced per message from the datamodel, local users made through the
 * `subject.islet_create_local_user` extension, and failed logins that slow down.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { call, jsonRpc, login } from '../helpers/rpc.js';

describe('roles and logins', () => {
  let srv: IsletProcess;
  let root: string;
  let roleRef: (name: string) => Promise<string>;
  before(async () => {
    srv = await startIslet();
    root = await login(srv.url, srv.rootPassword);
    roleRef = async (name) => (await call(srv.url, 'role.get_by_name_label', root, name))[0];
  });
  after(async () => srv?.stop());

  it('lets a read-only user read but not write', async () => {
    await call(srv.url, 'subject.islet_create_local_user', root, 'reader', 'reader-pw', await roleRef('read-only'));
    const s = await login(srv.url, 'reader-pw', 'reader');
    const [host] = await call(srv.url, 'host.get_all', s);
    assert.ok(await call(srv.url, 'host.get_record', s, host));
    const r = await jsonRpc(srv.url, 'host.set_name_label', [s, host, 'nope']);
    assert.equal(r.error.message, 'RBAC_PERMISSION_DENIED');
    assert.equal(r.error.data[0], 'host.set_name_label');
    assert.notEqual(await call(srv.url, 'host.get_name_label', s, host), 'nope');
  });

  it('gives a vm-operator less than a pool-operator, and a role change applies at next login', async () => {
    const subj = await call(srv.url, 'subject.islet_create_local_user', root, 'op', 'op-pw', await roleRef('vm-operator'));
    let s = await login(srv.url, 'op-pw', 'op');
    const [pool] = await call(srv.url, 'pool.get_all', s);
    const denied = await jsonRpc(srv.url, 'pool.set_name_label', [s, pool, 'x']);
    assert.equal(denied.error.message, 'RBAC_PERMISSION_DENIED');
    await call(srv.url, 'subject.add_to_roles', root, subj, await roleRef('pool-operator'));
    s = await login(srv.url, 'op-pw', 'op');
    await call(srv.url, 'pool.set_name_label', s, pool, 'renamed by operator');
    // Only pool-admin manages users.
    const noAdmin = await jsonRpc(srv.url, 'subject.islet_create_local_user', [s, 'x', 'y', await roleRef('pool-admin')]);
    assert.equal(noAdmin.error.message, 'RBAC_PERMISSION_DENIED');
    await call(srv.url, 'subject.destroy', root, subj);
    const gone = await jsonRpc(srv.url, 'pool.get_all', [s]);
    assert.equal(gone.error.message, 'SESSION_INVALID');
  });

  it('answers repeated failed logins more and more slowly', async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = await jsonRpc(srv.url, 'session.login_with_password', ['root', 'wrong', '1.1', 'x']);
      assert.equal(r.error.message, 'SESSION_AUTHENTICATION_FAILED');
      times.push(performance.now() - t0);
    }
    // Each failure doubles the wait before the next answer: the fifth waits at least 800 ms.
    assert.ok(times[4]! >= 800, `fifth failure answered in ${times[4]} ms`);
    assert.ok(await login(srv.url, srv.rootPassword));
  });
});
