/**
 * Recently verified logins (`src/api/verified-logins.ts`): a right password scrypt accepted
 * a moment ago is recognised without hashing again, and nothing else changes. A new
 * password makes the old one fail at once (also when the new hash arrives by replication),
 * a removed user or a subject without roles cannot log in on a remembered password, wrong
 * passwords and unknown names still pay the hash and are still throttled, entries end
 * after a lifetime without use and at the latest ten minutes after their check, the table is
 * bounded, and `ISLET_LOGIN_CACHE_MS=0` turns it off.
 * Hash checks are counted by the store, so these tests need no clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../../src/api/password-hash.js';
import { SessionStore } from '../../src/api/session-store.js';
import { VerifiedLogins } from '../../src/api/verified-logins.js';
import type { Ref } from '../../src/core/ref.js';
import { classes } from '../../src/datamodel/index.js';
import { MemoryPoolDb } from '../../src/db/memory-pool-db.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { call, jsonRpc, login } from '../helpers/rpc.js';

const FAILED = /SESSION_AUTHENTICATION_FAILED/;

async function newStore(): Promise<{ store: SessionStore; db: MemoryPoolDb; logs: string[] }> {
  const db = new MemoryPoolDb(classes);
  const store = new SessionStore(db, () => 'OpaqueRef:h' as Ref<'host'>);
  const logs: string[] = [];
  store.log = (m) => logs.push(m);
  await store.setUser('root', 'right', 'pool-admin');
  return { store, db, logs };
}

describe('verified logins table', () => {
  it('matches only the same user, stored hash and password, until it has gone unused for its lifetime', () => {
    let now = 1000;
    const v = new VerifiedLogins({ ttlMs: 60_000, now: () => now });
    v.remember('root', 'hash-1', 'pw');
    assert.equal(v.has('root', 'hash-1', 'pw'), true);
    assert.equal(v.has('root', 'hash-1', 'pw2'), false);
    assert.equal(v.has('root', 'hash-2', 'pw'), false, 'another stored hash (a new password) matches nothing');
    assert.equal(v.has('admin', 'hash-1', 'pw'), false);
    // Parts run together differently are different entries.
    v.remember('a', 'b', 'c');
    assert.equal(v.has('a', 'bc', ''), false);
    now += 59_999;
    assert.equal(v.has('root', 'hash-1', 'pw'), true, 'still within its lifetime');
    now += 59_999;
    assert.equal(v.has('root', 'hash-1', 'pw'), true, 'the use a minute ago kept it');
    now += 60_000;
    assert.equal(v.has('root', 'hash-1', 'pw'), false, 'gone after a lifetime without use');
    assert.equal(v.has('root', 'hash-1', 'pw'), false);
  });

  it('ends an entry at its longest lifetime after the check that made it, however often it is used', () => {
    let now = 0;
    const v = new VerifiedLogins({ ttlMs: 60_000, maxLifetimeMs: 600_000, now: () => now });
    v.remember('root', 'h', 'pw');
    for (now = 30_000; now < 600_000; now += 30_000) assert.equal(v.has('root', 'h', 'pw'), true, `in use at ${now} ms`);
    now = 599_999;
    assert.equal(v.has('root', 'h', 'pw'), true);
    now = 600_000;
    assert.equal(v.has('root', 'h', 'pw'), false, 'ten minutes after its check, used or not');
    v.remember('root', 'h', 'pw');
    assert.equal(v.has('root', 'h', 'pw'), true, 'a new check makes a new entry');
  });

  it('is bounded, least recently used out first, and forgets a user', () => {
    const v = new VerifiedLogins({ ttlMs: 60_000, capacity: 3 });
    for (let i = 0; i < 5; i++) v.remember(`u${i}`, 'h', 'pw');
    assert.equal(v.size, 3);
    assert.equal(v.has('u0', 'h', 'pw'), false);
    assert.equal(v.has('u4', 'h', 'pw'), true);
    // u2 is the oldest entry, but used now: u3 is the one that makes way.
    assert.equal(v.has('u2', 'h', 'pw'), true);
    v.remember('u5', 'h', 'pw');
    assert.equal(v.has('u3', 'h', 'pw'), false);
    assert.equal(v.has('u2', 'h', 'pw'), true);
    v.remember('u4', 'h2', 'pw');
    v.forget('u4');
    assert.equal(v.has('u4', 'h', 'pw') || v.has('u4', 'h2', 'pw'), false);
    assert.equal(v.has('u5', 'h', 'pw'), true);
  });

  it('drops expired entries when it takes a new one, in whatever order they were used', () => {
    let now = 0;
    const v = new VerifiedLogins({ ttlMs: 60_000, now: () => now });
    v.remember('a', 'h', 'pw');
    v.remember('b', 'h', 'pw');
    now = 50_000;
    assert.equal(v.has('a', 'h', 'pw'), true); // a now lasts until 110 s, b until 60 s
    now = 70_000;
    v.remember('c', 'h', 'pw');
    assert.equal(v.size, 2, 'b, behind a in the table, is gone');
  });

  it('is off with a lifetime of 0 (ISLET_LOGIN_CACHE_MS=0)', () => {
    const saved = process.env.ISLET_LOGIN_CACHE_MS;
    process.env.ISLET_LOGIN_CACHE_MS = '0';
    try {
      const v = new VerifiedLogins();
      v.remember('root', 'h', 'pw');
      assert.equal(v.has('root', 'h', 'pw'), false);
      assert.equal(v.size, 0);
    } finally {
      if (saved === undefined) delete process.env.ISLET_LOGIN_CACHE_MS;
      else process.env.ISLET_LOGIN_CACHE_MS = saved;
    }
  });
});

describe('logins with the verified-login table', { timeout: 120_000 }, () => {
  it('hashes a right password once, and every wrong password or unknown name each time', async () => {
    const { store } = await newStore();
    await store.login('root', 'right', 't', 'p1');
    assert.equal(store.hashChecks, 1);
    const s = await store.login('root', 'right', 't', 'p2');
    assert.equal(store.hashChecks, 1, 'the second login was recognised');
    assert.equal(s.userName, 'root');
    await assert.rejects(store.login('root', 'wrong', 't', 'p3'), FAILED);
    assert.equal(store.hashChecks, 2, 'a wrong password costs a hash');
    await assert.rejects(store.login('nobody', 'right', 't', 'p4'), FAILED);
    assert.equal(store.hashChecks, 3, 'an unknown name costs a hash');
    assert.equal(store.size, 2, 'each successful login opened its own session');
  });

  it('fails the old password at once after a change, also one replicated from another host', async () => {
    const { store, db } = await newStore();
    await store.login('root', 'right', 't', 'p');
    await store.setUser('root', 'second', 'pool-admin');
    await assert.rejects(store.login('root', 'right', 't', 'p'), FAILED);
    await store.login('root', 'second', 't', 'p');
    await store.login('root', 'second', 't', 'p');
    // A hash written into the database directly (as replication from the master does).
    db.setMeta('user:root', JSON.stringify({ name: 'root', hash: await hashPassword('third'), role: 'pool-admin' }));
    const checks = store.hashChecks;
    await assert.rejects(store.login('root', 'second', 't', 'p'), FAILED);
    assert.equal(store.hashChecks, checks + 1, 'the remembered password was checked against the new hash');
    await store.login('root', 'third', 't', 'p');
  });

  it('refuses a removed user whose password it remembered', async () => {
    const { store } = await newStore();
    await store.login('root', 'right', 't', 'p');
    await store.setUser('alice', 'alice-pw', 'read-only');
    await store.login('alice', 'alice-pw', 't', 'p');
    store.removeUser('alice');
    await assert.rejects(store.login('alice', 'alice-pw', 't', 'p'), FAILED);
    assert.equal(store.verified.size, 1, 'only root\'s entry is left');
  });

  it('still counts and slows down wrong passwords after a remembered login', async () => {
    const { store, logs } = await newStore();
    await store.login('root', 'right', 't', 'peer');
    for (let i = 0; i < 4; i++) await assert.rejects(store.login('root', `wrong-${i}`, 't', 'peer'), FAILED);
    // Failures are logged at 1, 2 and 4: every one was counted by the throttle.
    assert.deepEqual(logs.map((l) => /login: (\d+) failed/.exec(l)?.[1]), ['1', '2', '4']);
    assert.equal(store.hashChecks, 5);
  });
});

describe('remembered logins against a server', { timeout: 180_000 }, () => {
  let srv: IsletProcess;
  let root: string;
  const roleRef = async (name: string) => (await call(srv.url, 'role.get_by_name_label', root, name))[0];
  const loginError = async (user: string, pw: string) =>
    (await jsonRpc(srv.url, 'session.login_with_password', [user, pw, '1.1', 't'])).error?.message;
  before(async () => {
    srv = await startIslet();
    root = await login(srv.url, srv.rootPassword);
  });
  after(async () => srv?.stop());

  it('a subject whose roles are removed cannot log in on a remembered password', async () => {
    const subj = await call(srv.url, 'subject.islet_create_local_user', root, 'cached-op', 'op-pw', await roleRef('pool-operator'));
    await call(srv.url, 'session.logout', await login(srv.url, 'op-pw', 'cached-op'));
    await call(srv.url, 'session.logout', await login(srv.url, 'op-pw', 'cached-op'));
    await call(srv.url, 'subject.remove_from_roles', root, subj, await roleRef('pool-operator'));
    assert.equal(await loginError('cached-op', 'op-pw'), 'SESSION_AUTHORIZATION_FAILED');
    await call(srv.url, 'subject.add_to_roles', root, subj, await roleRef('read-only'));
    await call(srv.url, 'session.logout', await login(srv.url, 'op-pw', 'cached-op'));
    await call(srv.url, 'subject.destroy', root, subj);
    assert.equal(await loginError('cached-op', 'op-pw'), 'SESSION_AUTHENTICATION_FAILED');
  });

  it('a changed password fails the old one at once', async () => {
    await call(srv.url, 'session.logout', await login(srv.url, srv.rootPassword));
    await call(srv.url, 'session.change_password', root, srv.rootPassword, 'new-root-pw');
    assert.equal(await loginError('root', srv.rootPassword), 'SESSION_AUTHENTICATION_FAILED');
    await call(srv.url, 'session.logout', await login(srv.url, 'new-root-pw'));
  });
});
