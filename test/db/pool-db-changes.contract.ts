/**
 * @module
 * The event half of the PoolDb contract: generations, coalesced changes, transactions,
 * tombstones and waiting for changes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newRef, newUuid, type Ref } from '../../src/core/ref.js';
import { type ContractKit, everything, isApiError, ops } from './pool-db-contract-kit.js';
import { testModel } from './test-model.js';

export function changeContract({ open, vm, vbd }: ContractKit): void {
  describe('generations and changes', () => {
    it('bumps once per write and once per transaction', () => {
      const db = open();
      const a = vm(db);
      assert.equal(db.generation, 1);
      db.update('VM', a, { name_label: 'x' });
      assert.equal(db.generation, 2);
      db.transaction(() => {
        vm(db);
        vm(db);
        db.update('VM', a, { memory: 1 });
      });
      assert.equal(db.generation, 3);
      db.transaction(() => 'nothing written');
      db.setMeta('k', 'v');
      assert.equal(db.generation, 3, 'no object changed');
      db.update('VM', a, {});
      assert.equal(db.generation, 4, 'an empty patch still touches the object (event.inject)');
    });

    it('coalesces to one entry per object, oldest first, with the latest op', () => {
      const db = open();
      const old = vm(db);
      const gone = vm(db);
      const since = db.generation;
      const fresh = vm(db);
      db.update('VM', fresh, { name_label: 'x' });
      db.update('VM', old, { name_label: 'y' });
      db.update('VM', old, { name_label: 'z' });
      db.remove('VM', gone);
      const brief = vm(db);
      db.remove('VM', brief);
      const res = db.changesSince(since, everything);
      assert.deepEqual(ops(res), [`add VM ${fresh}`, `mod VM ${old}`, `del VM ${gone}`]);
      assert.deepEqual(res.changes.map((c) => c.gen), [since + 2, since + 4, since + 5]);
      assert.equal(res.gen, db.generation);
      assert.deepEqual(db.changesSince(res.gen, everything).changes, []);
      assert.deepEqual(ops(db.changesSince(since, (cls, ref) => cls === 'VM' && ref === old)), [`mod VM ${old}`]);
    });

    it('counts memory-only objects too', () => {
      const db = open();
      const since = db.generation;
      const task = newRef<'task'>();
      db.create('task', task, { uuid: newUuid(), name_label: 'import' });
      db.update('task', task, { progress: 0.5 });
      assert.equal(db.generation, since + 2);
      assert.deepEqual(ops(db.changesSince(since, everything)), [`add task ${task}`]);
      db.remove('task', task);
      assert.deepEqual(ops(db.changesSince(since + 2, everything)), [`del task ${task}`]);
    });

    it('says EVENTS_LOST for tokens it cannot answer', () => {
      const db = open();
      vm(db);
      assert.throws(() => db.changesSince(db.generation + 1, everything), isApiError('EVENTS_LOST'));
      assert.throws(() => db.changesSince(Number.NaN, everything), isApiError('EVENTS_LOST'));
    });
  });

  describe('transactions', () => {
    it('roll back everything, memory included, when fn throws', () => {
      const db = open();
      const a = vm(db, { name_label: 'a', tags: ['t'] });
      const d = vbd(db, a);
      db.setMeta('m', 'before');
      const before = { a: db.get('VM', a), d: db.get('VBD', d), all: db.all('VM'), gen: db.generation };
      const newUuidA = newUuid();
      let created: Ref = newRef();
      assert.throws(() => db.transaction(() => {
        db.update('VM', a, { name_label: 'changed', tags: ['u'], uuid: newUuidA });
        created = vm(db);
        db.update('VBD', d, { VM: created });
        db.remove('VM', a);
        db.setMeta('m', 'after');
        db.setMeta('other', 'x');
        throw new Error('boom');
      }), /boom/);
      assert.deepEqual(db.get('VM', a), before.a);
      assert.deepEqual(db.get('VBD', d), before.d);
      assert.deepEqual(db.all('VM'), before.all);
      assert.equal(db.get('VM', created), undefined);
      assert.equal(db.refByUuid('VM', newUuidA), undefined);
      assert.equal(db.refByUuid('VM', before.a!['uuid'] as string), a);
      assert.equal(db.getMeta('m'), 'before');
      assert.equal(db.getMeta('other'), undefined);
      assert.equal(db.generation, before.gen);
      assert.deepEqual(db.changesSince(before.gen, everything).changes, []);
      // And the database still works afterwards.
      db.update('VM', a, { name_label: 'later' });
      assert.equal(db.generation, before.gen + 1);
    });

    it('keep creation order when a removal is rolled back', () => {
      const db = open();
      const refs = [vm(db), vm(db), vm(db)];
      assert.throws(() => db.transaction(() => {
        db.remove('VM', refs[0]!);
        throw new Error('no');
      }));
      assert.deepEqual(db.all('VM').map(([r]) => r), refs);
    });

    it('nest: an inner failure caught by the outer undoes only the inner writes', () => {
      const db = open();
      const a = vm(db);
      const gen = db.generation;
      let inner: Ref = newRef();
      const result = db.transaction(() => {
        db.update('VM', a, { name_label: 'outer' });
        assert.throws(() => db.transaction(() => {
          inner = vm(db);
          db.update('VM', a, { memory: 7 });
          throw new Error('inner');
        }), /inner/);
        const ok = db.transaction(() => {
          db.update('VM', a, { is_template: true });
          return 'nested result';
        });
        return ok;
      });
      assert.equal(result, 'nested result');
      const r = db.get('VM', a)!;
      assert.equal(r['name_label'], 'outer');
      assert.equal(r['memory'], 1024);
      assert.equal(r['is_template'], true);
      assert.equal(db.get('VM', inner), undefined);
      assert.equal(db.generation, gen + 1);
    });

    it('nest: an inner failure that propagates undoes everything', () => {
      const db = open();
      const a = vm(db);
      assert.throws(() => db.transaction(() => {
        db.update('VM', a, { name_label: 'outer' });
        db.transaction(() => {
          db.update('VM', a, { memory: 7 });
          throw new Error('inner');
        });
      }), /inner/);
      assert.equal(db.get('VM', a)!['name_label'], '');
      assert.equal(db.get('VM', a)!['memory'], 1024);
    });

    it('refuse asynchronous callbacks', () => {
      const db = open();
      assert.throws(() => db.transaction(async () => undefined), /synchronous/);
    });

    it('commit a write that failed validation inside them without it', () => {
      const db = open();
      const a = vm(db);
      db.transaction(() => {
        db.update('VM', a, { name_label: 'kept' });
        assert.throws(() => db.update('VM', a, { memory: 'lots' }));
      });
      assert.equal(db.get('VM', a)!['name_label'], 'kept');
    });
  });

  describe('tombstones', () => {
    it('keep the newest N and report EVENTS_LOST before them', () => {
      const db = open(testModel, { maxTombstones: 3 });
      const refs = Array.from({ length: 6 }, () => vm(db));
      const start = db.generation; // 6
      for (const r of refs.slice(0, 5)) db.remove('VM', r); // gens 7..11
      assert.throws(() => db.changesSince(start, everything), isApiError('EVENTS_LOST'));
      assert.throws(() => db.changesSince(start + 1, everything), isApiError('EVENTS_LOST'));
      const res = db.changesSince(start + 2, everything); // the deletion at gen 8 is the newest forgotten
      assert.deepEqual(ops(res), refs.slice(2, 5).map((r) => `del VM ${r}`));
      // A creation does not count as a deletion to remember.
      vm(db);
      assert.deepEqual(db.changesSince(start + 2, everything).changes.length, 4);
    });

    it('forget a deletion when the ref comes back', () => {
      const db = open();
      const a = vm(db);
      const since = db.generation;
      db.remove('VM', a);
      db.create('VM', a, { uuid: newUuid() });
      assert.deepEqual(ops(db.changesSince(since, everything)), [`add VM ${a}`]);
    });
  });

  describe('waitForChange', () => {
    it('resolves at once when the generation is already past', async () => {
      const db = open();
      vm(db);
      const t0 = Date.now();
      await db.waitForChange(0, 10_000);
      // Well short of the 10 s it would wait: a loaded machine may take a while, not 10 s.
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    });

    it('wakes on a commit, not on a rolled-back transaction', async () => {
      const db = open();
      const a = vm(db);
      const since = db.generation;
      let woke = false;
      const p = db.waitForChange(since, 10_000).then(() => { woke = true; });
      assert.throws(() => db.transaction(() => {
        db.update('VM', a, { name_label: 'x' });
        throw new Error('rollback');
      }));
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(woke, false);
      const t0 = Date.now();
      setTimeout(() => db.update('VM', a, { name_label: 'y' }), 20);
      await p;
      assert.ok(woke);
      assert.ok(Date.now() - t0 < 5000, `woke after ${Date.now() - t0} ms, not by the write`);
      assert.deepEqual(ops(db.changesSince(since, everything)), [`mod VM ${a}`]);
    });

    it('times out', async () => {
      const db = open();
      const t0 = Date.now();
      await db.waitForChange(db.generation, 80);
      const took = Date.now() - t0;
      assert.ok(took >= 70 && took < 10_000, `took ${took} ms`);
    });

    it('returns on abort', async () => {
      const db = open();
      const ac = new AbortController();
      const t0 = Date.now();
      setTimeout(() => ac.abort(), 20);
      await db.waitForChange(db.generation, 60_000, ac.signal);
      assert.ok(Date.now() - t0 < 5000);
      ac.abort();
      await db.waitForChange(db.generation, 60_000, ac.signal);
    });

    it('fails waiters on close, so that wait loops end', async () => {
      const db = open();
      const ref = vm(db);
      const t0 = Date.now();
      const p = db.waitForChange(db.generation, 60_000);
      setTimeout(() => db.close(), 20);
      await assert.rejects(p, /closed/);
      await assert.rejects(db.waitForChange(db.generation, 60_000), /closed/);
      assert.ok(Date.now() - t0 < 5000);
      assert.throws(() => vm(db), /closed/);
      assert.throws(() => db.transaction(() => 1), /closed/);
      assert.ok(db.get('VM', ref), 'reads still answer from memory');
    });
  });
}
