/**
 * Pool-internal authentication (issue 10, item 1), against a real master on loopback:
 * a pool-operator cannot ask to join (it used to get the pool secret, then an internal
 * session that passed every role check), a pool login needs the credential the master
 * issued to that very host uuid, a join never overwrites an existing host, an unconfirmed
 * join is undone (no phantom host), and a host's session does nothing until it confirms.
 * Only a host's session may name, for a task of the master, its own task doing the work.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { call, jsonRpc, login } from '../helpers/rpc.js';

const fakeHost = (ref = `OpaqueRef:${randomUUID()}`, uuid = randomUUID()) => ({
  host: { ref, row: { uuid, name_label: `fake-${uuid.slice(0, 8)}`, address: '127.0.0.9' } },
  metrics: { ref: `OpaqueRef:${randomUUID()}`, row: { uuid: randomUUID() } },
});

async function waitUntil(what: string, ms: number, f: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('pool-internal authentication', { timeout: 120_000 }, () => {
  let srv: IsletProcess;
  let root: string;
  const hosts = async () => (await call(srv.url, 'host.get_all', root)) as string[];

  before(async () => {
    srv = await startIslet({ env: { ISLET_JOIN_CONFIRM_MS: '2000' } });
    root = await login(srv.url, srv.rootPassword);
  });
  after(async () => srv?.stop());

  it('refuses join requests from a pool-operator, who so never obtains a pool credential', async () => {
    const [role] = await call(srv.url, 'role.get_by_name_label', root, 'pool-operator');
    await call(srv.url, 'subject.islet_create_local_user', root, 'operator', 'op-pw', role);
    const op = await login(srv.url, 'op-pw', 'operator');
    const r = await jsonRpc(srv.url, 'pool.islet_join_request', [op, JSON.stringify(fakeHost())]);
    assert.equal(r.error?.message, 'RBAC_PERMISSION_DENIED', JSON.stringify(r));
    assert.equal((await hosts()).length, 1, 'no host was added');
  });

  it('opens no pool session without the credential issued to that host uuid', async () => {
    const [self] = await hosts();
    const selfUuid = await call(srv.url, 'host.get_uuid', root, self);
    for (const [uuid, token] of [[randomUUID(), 'x'], [selfUuid, 'wrong'], [selfUuid, ''], ['', '']]) {
      const r = await jsonRpc(srv.url, 'session.islet_pool_login', [uuid, token]);
      assert.equal(r.error?.message, 'SESSION_AUTHENTICATION_FAILED', `${uuid}: ${JSON.stringify(r)}`);
    }
    // The master's own credential works, bound to its uuid, and nothing in the database shows it.
    const own = JSON.parse(readFileSync(join(srv.dataDir, 'pool-credential'), 'utf8')) as { hostUuid: string; token: string };
    assert.equal(own.hostUuid, selfUuid);
    assert.ok((await call(srv.url, 'session.islet_pool_login', own.hostUuid, own.token)).startsWith('OpaqueRef:'));
    assert.equal((await jsonRpc(srv.url, 'session.islet_pool_login', [randomUUID(), own.token])).error?.message, 'SESSION_AUTHENTICATION_FAILED');
    for (const cls of ['host', 'pool']) {
      assert.ok(!JSON.stringify(await call(srv.url, `${cls}.get_all_records`, root)).includes(own.token));
    }
  });

  it('answers a malformed join request with INVALID_VALUE', async () => {
    for (const bad of ['{}', 'null', '[]', '{"host":{"ref":"OpaqueRef:x","row":{}}}', 'not json']) {
      const r = await jsonRpc(srv.url, 'pool.islet_join_request', [root, bad]);
      assert.equal(r.error?.message, 'INVALID_VALUE', `${bad}: ${JSON.stringify(r)}`);
    }
  });

  it('never lets a join overwrite an existing host', async () => {
    const [self] = await hosts();
    const selfUuid = await call(srv.url, 'host.get_uuid', root, self);
    const before = await call(srv.url, 'host.get_record', root, self);
    for (const req of [fakeHost(self), fakeHost(undefined, selfUuid)]) {
      const r = await jsonRpc(srv.url, 'pool.islet_join_request', [root, JSON.stringify(req)]);
      assert.ok(r.error, `a join naming the master's ${req.host.ref === self ? 'ref' : 'uuid'} was refused`);
    }
    const first = fakeHost();
    await call(srv.url, 'pool.islet_join_request', root, JSON.stringify(first));
    for (const req of [fakeHost(first.host.ref), fakeHost(undefined, first.host.row.uuid)]) {
      const r = await jsonRpc(srv.url, 'pool.islet_join_request', [root, JSON.stringify(req)]);
      assert.equal(r.error?.message, 'INVALID_VALUE', JSON.stringify(r));
    }
    assert.equal(await call(srv.url, 'host.get_name_label', root, first.host.ref), first.host.row.name_label);
    assert.deepEqual(await call(srv.url, 'host.get_record', root, self), before);
  });

  it('undoes a join the new host never confirms, leaving no phantom host', async () => {
    await waitUntil('pending joins to be undone', 20_000, async () => (await hosts()).length === 1);
    const req = fakeHost();
    const reply = JSON.parse(await call(srv.url, 'pool.islet_join_request', root, JSON.stringify(req))) as { credential: string };
    assert.equal((await hosts()).length, 2);
    assert.match(reply.credential, /^[0-9a-f]{64}$/);
    await waitUntil('the unconfirmed host to go', 20_000, async () => (await hosts()).length === 1);
    const r = await jsonRpc(srv.url, 'session.islet_pool_login', [req.host.row.uuid, reply.credential]);
    assert.equal(r.error?.message, 'SESSION_AUTHENTICATION_FAILED', 'the credential of an undone join opens nothing');
  });

  it('lets a joining host do nothing but confirm, then only as itself', async () => {
    const req = fakeHost();
    const { credential } = JSON.parse(await call(srv.url, 'pool.islet_join_request', root, JSON.stringify(req))) as { credential: string };
    const s = await call(srv.url, 'session.islet_pool_login', req.host.row.uuid, credential);
    const early = await jsonRpc(srv.url, 'pool.islet_db_changes', [s, -1, 0]);
    assert.equal(early.error?.message, 'RBAC_PERMISSION_DENIED', JSON.stringify(early).slice(0, 200));
    await call(srv.url, 'pool.islet_join_confirm', s);
    assert.ok(JSON.parse(await call(srv.url, 'pool.islet_db_changes', s, -1, 0)));
    // A host's session cannot add hosts, nor heartbeat for another host.
    assert.equal((await jsonRpc(srv.url, 'pool.islet_join_request', [s, JSON.stringify(fakeHost())])).error?.message, 'RBAC_PERMISSION_DENIED');
    const [self] = (await hosts()).filter((h) => h !== req.host.ref);
    assert.equal((await jsonRpc(srv.url, 'pool.islet_heartbeat', [s, self, '{}'])).error?.message, 'RBAC_PERMISSION_DENIED');
    // The join held past the confirmation deadline.
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok((await hosts()).includes(req.host.ref));
    // A user session, even root's, is not a host's.
    assert.equal((await jsonRpc(srv.url, 'pool.islet_db_changes', [root, -1, 0])).error?.message, 'RBAC_PERMISSION_DENIED');
  });

  it('lets only a host name its own task behind a master\'s task; a cancel it cannot pass on ends the task there', async () => {
    const req = fakeHost();
    const { credential } = JSON.parse(await call(srv.url, 'pool.islet_join_request', root, JSON.stringify(req))) as { credential: string };
    const s = await call(srv.url, 'session.islet_pool_login', req.host.row.uuid, credential);
    await call(srv.url, 'pool.islet_join_confirm', s);
    const task = await call(srv.url, 'task.create', root, 'a transfer sent to a member', '');
    const [master] = (await hosts()).filter((h) => h !== req.host.ref);
    // A user session, even root's, cannot point a task's cancel at a host; a host names only itself.
    const byRoot = await jsonRpc(srv.url, 'task.islet_forwarded', [root, task, req.host.ref, 'OpaqueRef:elsewhere']);
    assert.equal(byRoot.error?.message, 'RBAC_PERMISSION_DENIED');
    assert.equal((await jsonRpc(srv.url, 'task.islet_forwarded', [s, task, master, 'OpaqueRef:elsewhere'])).error?.message, 'RBAC_PERMISSION_DENIED');
    assert.equal(await call(srv.url, 'task.islet_forwarded', s, task, req.host.ref, 'OpaqueRef:its-own'), 'pending');
    // Clients see nothing of it.
    const rec = await call(srv.url, 'task.get_record', root, task);
    assert.ok(!Object.keys(rec).some((k) => k.startsWith('islet_forwarded')), Object.keys(rec).join(' '));
    // That host is not reachable (it never heartbeats): the cancel ends the task here, once.
    await call(srv.url, 'task.cancel', root, task);
    assert.equal(await call(srv.url, 'task.get_status', root, task), 'cancelled');
    assert.deepEqual(await call(srv.url, 'task.get_error_info', root, task), ['TASK_CANCELLED', task]);
    // A late report of success changes nothing.
    const late = await jsonRpc(srv.url, 'task.set_status', [s, task, 'success']);
    assert.equal(late.error?.message, 'OPERATION_NOT_ALLOWED');
    assert.equal(await call(srv.url, 'task.get_status', root, task), 'cancelled');
    await call(srv.url, 'task.destroy', root, task);
  });
});
