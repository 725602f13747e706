/**
 * The change feed through a real server: event.from tokens, class and object
 * subscriptions, coalescing, tombstones, timeouts, event.inject and the legacy
 * register/next pair.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { call, jsonRpc, login } from '../helpers/rpc.js';

describe('events', () => {
  let srv: IsletProcess;
  let s: string;
  let host: string;
  before(async () => {
    srv = await startIslet();
    s = await login(srv.url, srv.rootPassword);
    [host] = await call(srv.url, 'host.get_all', s);
  });
  after(async () => srv?.stop());

  it('answers an empty token with every live object as an add', async () => {
    const r = await call(srv.url, 'event.from', s, ['*'], '', 0);
    assert.match(r.token, /^\d{20},\d{20}$/);
    const classes = new Set(r.events.map((e: any) => e.class));
    for (const c of ['pool', 'host', 'host_metrics', 'role', 'session']) assert.ok(classes.has(c), c);
    assert.ok(r.events.every((e: any) => e.operation === 'add' && e.snapshot && e.ref));
    assert.equal(r.valid_ref_counts.host, 1);
  });

  it('reports one coalesced mod per object after a token, and only what was subscribed', async () => {
    const { token } = await call(srv.url, 'event.from', s, ['host'], '', 0);
    await call(srv.url, 'host.set_name_label', s, host, 'a');
    await call(srv.url, 'host.set_name_label', s, host, 'b');
    const [pool] = await call(srv.url, 'pool.get_all', s);
    await call(srv.url, 'pool.set_name_label', s, pool, 'not subscribed');
    const r = await call(srv.url, 'event.from', s, ['host'], token, 1);
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0].operation, 'mod');
    assert.equal(r.events[0].snapshot.name_label, 'b');
    const byObject = await call(srv.url, 'event.from', s, [`pool/${pool}`], token, 1);
    assert.deepEqual(byObject.events.map((e: any) => e.ref), [pool]);
  });

  it('waits for a change up to the timeout, and wakes when one comes', async () => {
    const { token } = await call(srv.url, 'event.from', s, ['host'], '', 0);
    const empty = await call(srv.url, 'event.from', s, ['host'], token, 0.2);
    assert.equal(empty.events.length, 0);
    const waiting = call(srv.url, 'event.from', s, ['host'], token, 30);
    setTimeout(() => void call(srv.url, 'host.set_name_label', s, host, 'woken'), 100);
    const r = await waiting;
    assert.equal(r.events[0].snapshot.name_label, 'woken');
  });

  it('leaves a tombstone for a deleted object, and event.inject touches an object', async () => {
    const { token } = await call(srv.url, 'event.from', s, ['task'], '', 0);
    const task = await call(srv.url, 'task.create', s, 'doomed', '');
    const mid = await call(srv.url, 'event.from', s, ['task'], token, 1);
    assert.deepEqual(mid.events.map((e: any) => [e.operation, e.ref]), [['add', task]]);
    await call(srv.url, 'task.destroy', s, task);
    const gone = await call(srv.url, 'event.from', s, ['task'], mid.token, 1);
    assert.deepEqual(gone.events.map((e: any) => [e.operation, e.ref, e.snapshot]), [['del', task, undefined]]);
    const injected = await call(srv.url, 'event.inject', s, 'host', host);
    assert.match(injected, /^\d{20},\d{20}$/);
    const touched = await call(srv.url, 'event.from', s, ['host'], gone.token, 1);
    assert.equal(touched.events[0].ref, host);
  });

  it('refuses bad tokens and subscriptions with typed errors', async () => {
    const badToken = await jsonRpc(srv.url, 'event.from', [s, ['host'], 'garbage', 0]);
    assert.equal(badToken.error.message, 'EVENT_FROM_TOKEN_PARSE_FAILURE');
    const future = await jsonRpc(srv.url, 'event.from', [s, ['host'], `${'9'.repeat(20)},${'0'.repeat(20)}`, 0]);
    assert.equal(future.error.message, 'EVENTS_LOST');
    const badClass = await jsonRpc(srv.url, 'event.from', [s, ['nonsense'], '', 0]);
    assert.equal(badClass.error.message, 'EVENT_SUBSCRIPTION_PARSE_FAILURE');
  });

  it('serves the legacy register/next pair', async () => {
    const s2 = await login(srv.url, srv.rootPassword);
    const unregistered = await jsonRpc(srv.url, 'event.next', [s2]);
    assert.equal(unregistered.error.message, 'SESSION_NOT_REGISTERED');
    await call(srv.url, 'event.register', s2, ['host']);
    setTimeout(() => void call(srv.url, 'host.set_name_label', s, host, 'legacy'), 100);
    const evs = await call(srv.url, 'event.next', s2);
    assert.equal(evs[0].class, 'host');
    assert.equal(evs[0].snapshot.name_label, 'legacy');
    assert.ok(evs[0].obj_uuid);
    await call(srv.url, 'event.unregister', s2, ['host']);
  });
});
