/**
 * A member's replica against its master, with real SQLite databases in a temporary
 * directory: a first full copy, then coalesced changes; pool-wide meta entries travel and
 * the member's own stay; memory-only objects stay on their host; the replica's position
 * survives a reopen; and the member's own writes are captured per committed transaction
 * (never replication's) and applied by the master.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PoolDb } from '../../src/core/ports/pool-db.js';
import { newRef, newUuid, type Ref } from '../../src/core/ref.js';
import { classes } from '../../src/datamodel/index.js';
import { openPoolDb } from '../../src/db/sqlite-pool-db.js';
import { ForwardingPoolDb, type ForwardedWrite } from '../../src/pool/forwarding-pool-db.js';
import {
  applyForwarded, applyUpdate, changesFor, isReplicatedMeta, replicaGeneration, storedFields,
} from '../../src/pool/replication.js';

const fields = storedFields(classes);
const persisted = new Set(classes.filter((c) => c.persist).map((c) => c.name));

function snapshot(db: PoolDb): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const cls of persisted) out[cls] = db.all(cls);
  return out;
}

describe('replication', () => {
  let dir: string;
  let master: PoolDb;
  let member: ForwardingPoolDb;
  const sent: ForwardedWrite[][] = [];
  const memberHost = newRef<'host'>();
  const poolRef = newRef<'pool'>();

  const openMember = () => {
    const raw = openPoolDb(join(dir, 'member.db'), classes);
    const db = new ForwardingPoolDb(raw, (c) => persisted.has(c), isReplicatedMeta);
    db.setForwarder((b) => sent.push(b));
    return db;
  };
  const sync = () => applyUpdate(member, changesFor(master, fields, replicaGeneration(member)));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'islet-repl-'));
    master = openPoolDb(join(dir, 'master.db'), classes);
    master.create('pool', poolRef, { uuid: newUuid(), name_label: 'p' });
    master.create('host', memberHost, { uuid: newUuid(), name_label: 'member' });
    master.setMeta('user:root', '{"name":"root"}');
    master.setMeta('this_host', 'OpaqueRef:master-own');
    member = openMember();
    // What the member had before joining: its own pool, and its own identity.
    member.unforwarded(() => {
      member.create('pool', newRef<'pool'>(), { uuid: newUuid(), name_label: 'old pool' });
      member.setMeta('this_host', memberHost);
    });
    member.create('session', newRef<'session'>(), { uuid: newUuid() });
  });
  after(async () => {
    master.close();
    member.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts with a full copy that replaces the member\'s content but not its identity', () => {
    const u = changesFor(master, fields, -1);
    assert.equal(u.kind, 'dump');
    applyUpdate(member, u);
    assert.deepEqual(snapshot(member), snapshot(master));
    assert.equal(member.getMeta('user:root'), '{"name":"root"}');
    assert.equal(member.getMeta('this_host'), memberHost, 'the member keeps its own this_host');
    assert.equal(member.all('session').length, 1, 'memory-only rows stay');
    assert.equal(replicaGeneration(member), master.generation);
    assert.deepEqual(sent, [], 'replication is never sent back');
  });

  it('then follows coalesced changes, meta included', () => {
    const vm = newRef<'VM'>();
    master.create('VM', vm, { uuid: newUuid(), name_label: 'a' });
    master.update('VM', vm, { name_label: 'b' });
    master.update('pool', poolRef, { name_description: 'd' });
    const gone = newRef<'VM'>();
    master.create('VM', gone, { uuid: newUuid() });
    master.remove('VM', gone);
    master.setMeta('user:alice', '{"name":"alice"}');
    master.create('task', newRef<'task'>(), { uuid: newUuid() });
    const u = changesFor(master, fields, replicaGeneration(member));
    assert.equal(u.kind, 'changes');
    if (u.kind === 'changes') assert.ok(u.changes.every((c) => persisted.has(c.cls)), 'no memory-only classes');
    applyUpdate(member, u);
    assert.deepEqual(snapshot(member), snapshot(master));
    assert.equal(member.get('VM', vm)?.name_label, 'b');
    assert.equal(member.getMeta('user:alice'), '{"name":"alice"}');
    master.setMeta('user:alice', undefined);
    master.update('pool', poolRef, {});
    sync();
    assert.equal(member.getMeta('user:alice'), undefined);
    assert.equal(member.all('task').length, 0);
  });

  it('keeps its position across a reopen', () => {
    const gen = replicaGeneration(member);
    member.close();
    member = openMember();
    assert.equal(replicaGeneration(member), gen);
    master.update('pool', poolRef, { name_label: 'after reopen' });
    sync();
    assert.equal(member.get('pool', poolRef)?.name_label, 'after reopen');
  });

  it('falls back to a full copy when its generation means nothing to the master', () => {
    member.unforwarded(() => member.inner.setMeta('local:replica_gen', String(master.generation + 1000)));
    const u = changesFor(master, fields, replicaGeneration(member));
    assert.equal(u.kind, 'dump');
    applyUpdate(member, u);
    assert.deepEqual(snapshot(member), snapshot(master));
  });

  it('captures the member\'s own writes per committed transaction, for the master to apply', () => {
    sent.length = 0;
    member.update('host', memberHost, { name_description: 'from the member' });
    member.transaction(() => {
      member.update('pool', poolRef, { name_description: 'tx' });
      try {
        member.transaction(() => {
          member.update('pool', poolRef, { name_label: 'rolled back' });
          throw new Error('nested failure');
        });
      } catch { /* the outer transaction goes on */ }
      member.setMeta('user:bob', '{}');
      member.setMeta('local:thing', 'x');
      member.create('task', newRef<'task'>(), { uuid: newUuid() });
    });
    assert.throws(() => member.transaction(() => {
      member.update('pool', poolRef, { name_label: 'never' });
      throw new Error('outer failure');
    }));
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[1]!.map((w) => w.op), ['update', 'meta']);
    applyForwarded(master, sent.flat());
    assert.equal(master.get('host', memberHost)?.name_description, 'from the member');
    assert.equal(master.get('pool', poolRef)?.name_description, 'tx');
    assert.notEqual(master.get('pool', poolRef)?.name_label, 'rolled back');
    assert.equal(master.getMeta('user:bob'), '{}');
    assert.equal(master.getMeta('local:thing'), undefined);
    sync();
    assert.deepEqual(snapshot(member), snapshot(master));
  });

  it('holds writes made before its link to the master is up', () => {
    const raw = openPoolDb(join(dir, 'held.db'), classes);
    const db = new ForwardingPoolDb(raw, (c) => persisted.has(c), isReplicatedMeta);
    try {
      db.hold();
      db.create('pool', newRef<'pool'>(), { uuid: newUuid() });
      const got: ForwardedWrite[][] = [];
      db.setForwarder((b) => got.push(b));
      assert.equal(got.length, 1);
      assert.equal(got[0]![0]!.op, 'create');
    } finally {
      db.close();
    }
  });

  it('the master ignores forwarded writes that no longer fit', () => {
    const ghost = newRef<'VM'>() as Ref;
    applyForwarded(master, [
      { op: 'update', cls: 'VM', ref: ghost, patch: { name_label: 'x' } },
      { op: 'remove', cls: 'VM', ref: ghost },
      { op: 'create', cls: 'VM', ref: newRef(), row: { uuid: String(master.get('host', memberHost)?.uuid) , no_such_field: 1 } },
      { op: 'update', cls: 'pool', ref: poolRef, patch: { name_label: 'still applied' } },
    ]);
    assert.equal(master.get('pool', poolRef)?.name_label, 'still applied');
  });
});
