/**
 * The master's liveness judgement, on an in-memory pool database with a hand-driven
 * clock: silence longer than the timeout makes a member not live, its next heartbeat
 * live again; a fresh master gives members one timeout; a stall of the master itself is
 * not blamed on the members; a host going down on purpose is dead at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRef, newUuid, type Ref } from '../../src/core/ref.js';
import { classes } from '../../src/datamodel/index.js';
import { MemoryPoolDb } from '../../src/db/memory-pool-db.js';
import { LivenessMonitor, liveInDb } from '../../src/pool/liveness-monitor.js';

function setup() {
  const db = new MemoryPoolDb(classes);
  const mk = (name: string): Ref<'host'> => {
    const m = newRef<'host_metrics'>();
    const h = newRef<'host'>();
    db.create('host_metrics', m, { uuid: newUuid(), live: true });
    db.create('host', h, { uuid: newUuid(), name_label: name, metrics: m });
    return h;
  };
  const self = mk('master');
  const a = mk('a');
  const b = mk('b');
  let t = 1_000_000;
  const dead: string[] = [];
  const mon = new LivenessMonitor({ db, self, timeoutMs: 10_000, now: () => t, onDead: (h) => dead.push(h) });
  mon.start();
  mon.stop(); // the test drives check() itself
  return { db, self, a, b, mon, dead, advance: (ms: number) => { t += ms; } };
}

test('silence beyond the timeout makes a member not live; a heartbeat brings it back', () => {
  const { db, a, b, mon, dead, advance, self } = setup();
  for (let i = 0; i < 9; i++) {
    advance(1000);
    mon.heartbeat(b);
    mon.check();
  }
  assert.ok(liveInDb(db, a), 'a fresh master waits one timeout');
  advance(1000); mon.heartbeat(b); mon.check();
  advance(1000); mon.heartbeat(b); mon.check();
  assert.equal(liveInDb(db, a), false);
  assert.ok(liveInDb(db, b));
  assert.ok(liveInDb(db, self) && mon.isLive(self));
  assert.deepEqual(dead, [a]);
  mon.heartbeat(a);
  assert.ok(liveInDb(db, a));
});

test('a stalled master does not blame its members', () => {
  const { db, a, mon, advance } = setup();
  advance(1000); mon.heartbeat(a); mon.check();
  advance(30_000); // the master's own event loop was blocked
  mon.check();
  assert.ok(liveInDb(db, a));
  for (let i = 0; i < 11; i++) { advance(1000); mon.check(); }
  assert.equal(liveInDb(db, a), false, 'but real silence afterwards still counts');
});

test('a host going down on purpose is dead at once, and writes happen only on changes', () => {
  const { db, a, mon } = setup();
  const gen = db.generation;
  mon.heartbeat(a);
  assert.equal(db.generation, gen, 'a heartbeat from a live host writes nothing');
  mon.markDead(a);
  assert.equal(liveInDb(db, a), false);
  mon.check();
  assert.equal(liveInDb(db, a), false);
});

test('a host going down stays dead through late heartbeats of its old toolstack; a new toolstack brings it back', () => {
  const { db, a, mon, advance } = setup();
  const startedAs = (t: string) => db.update('host', a, { other_config: { agent_start_time: t } });
  startedAs('1000.000');
  mon.heartbeat(a);
  mon.markDead(a);
  // A heartbeat the old toolstack sent before it stopped, arriving after the shutdown answered.
  advance(300);
  mon.heartbeat(a);
  assert.equal(liveInDb(db, a), false, 'a late heartbeat of the toolstack going down revived the host');
  // The host starts again: its new toolstack reports another start time.
  advance(2000);
  startedAs('1002.300');
  mon.heartbeat(a);
  assert.ok(liveInDb(db, a), 'the new toolstack\'s heartbeat');
});

test('a host marked dead that does not go down after all is live again once a timeout has passed', () => {
  const { db, a, mon, advance } = setup();
  db.update('host', a, { other_config: { agent_start_time: '1000.000' } });
  mon.markDead(a);
  advance(5000);
  mon.heartbeat(a);
  assert.equal(liveInDb(db, a), false);
  advance(5001);
  mon.heartbeat(a);
  assert.ok(liveInDb(db, a));
});
