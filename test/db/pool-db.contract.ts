/**
 * @module
 * The contract every PoolDb adapter passes: records and defaults, validation, inverse
 * sets, generations and coalesced changes, transactions, tombstones, waiting for changes,
 * memory-only classes and dumps. Adapter test files call `runPoolDbContract` with a
 * factory; whatever it opens is closed here.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ApiError } from '../../src/core/api-error.js';
import type { ChangesSince, PoolDb, Row } from '../../src/core/ports/pool-db.js';
import { newRef, newUuid, type Ref } from '../../src/core/ref.js';
import type { ClassDecl } from '../../src/datamodel/dsl.js';
import { testModel, wideModel } from './test-model.js';

export type MakeDb = (classes: readonly ClassDecl[], opts?: { maxTombstones?: number }) => PoolDb;

const everything = (): boolean => true;

function isApiError(code: string, params?: string[]) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof ApiError, `expected ApiError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    if (params) assert.deepEqual(e.params, params);
    return true;
  };
}

/** A plain Error, not an ApiError: the mistakes only code can make. */
function isProgrammingError(re: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof Error && !(e instanceof ApiError), `expected a plain Error, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  };
}

function ops(res: ChangesSince): string[] {
  return res.changes.map((c) => `${c.op} ${c.cls} ${c.ref}`);
}

export function runPoolDbContract(name: string, makeDb: MakeDb): void {
  describe(`PoolDb contract: ${name}`, () => {
    const opened: PoolDb[] = [];
    const open = (classes: readonly ClassDecl[] = testModel, opts?: { maxTombstones?: number }): PoolDb => {
      const db = makeDb(classes, opts);
      opened.push(db);
      return db;
    };
    afterEach(() => {
      for (const db of opened.splice(0)) db.close();
    });
    const vm = (db: PoolDb, row: Row = {}): Ref<'VM'> => {
      const ref = newRef<'VM'>();
      db.create('VM', ref, { uuid: newUuid(), ...row });
      return ref;
    };
    const vbd = (db: PoolDb, vmRef: string, row: Row = {}): Ref<'VBD'> => {
      const ref = newRef<'VBD'>();
      db.create('VBD', ref, { uuid: newUuid(), VM: vmRef, ...row });
      return ref;
    };

    describe('records', () => {
      it('starts empty at generation 0', () => {
        const db = open();
        assert.equal(db.generation, 0);
        assert.deepEqual(db.all('VM'), []);
        assert.equal(db.get('VM', newRef()), undefined);
        assert.deepEqual(db.changesSince(0, everything).changes, []);
      });

      it('fills declared defaults and computed sets', () => {
        const db = open();
        const uuid = newUuid();
        const ref = newRef<'VM'>();
        db.create('VM', ref, { uuid, name_label: 'a' });
        assert.deepEqual(db.get('VM', ref), {
          uuid, name_label: 'a', memory: 1024, weight: 0.5, power_state: 'Halted', is_template: false,
          tags: [], other_config: {}, secret: '', snapshot_of: 'OpaqueRef:NULL',
          snapshots: [], VBDs: [], current_tasks: [],
        });
        assert.equal(db.refByUuid('VM', uuid), ref);
        assert.equal(db.refByUuid('VM', newUuid()), undefined);
      });

      it('hands out copies: callers cannot change the database', () => {
        const db = open();
        const tags = ['x'];
        const oc = { k: 'v' };
        const ref = vm(db, { tags, other_config: oc });
        tags.push('after');
        oc.k = 'after';
        const r = db.get('VM', ref)!;
        assert.deepEqual(r['tags'], ['x']);
        (r['tags'] as string[]).push('y');
        (r['other_config'] as Record<string, string>)['k'] = 'z';
        (r['VBDs'] as string[]).push('OpaqueRef:bogus');
        r['name_label'] = 'changed';
        assert.deepEqual(db.get('VM', ref), { ...db.get('VM', ref), tags: ['x'], other_config: { k: 'v' }, VBDs: [], name_label: '' });
        const [[, fromAll]] = db.all('VM') as [[Ref, Row]];
        (fromAll['tags'] as string[]).push('w');
        assert.deepEqual(db.get('VM', ref)!['tags'], ['x']);
      });

      it('lists objects in creation order', () => {
        const db = open();
        const refs = [vm(db, { name_label: '1' }), vm(db, { name_label: '2' }), vm(db, { name_label: '3' })];
        db.update('VM', refs[0]!, { name_label: '1b' });
        assert.deepEqual(db.all('VM').map(([r]) => r), refs);
      });

      it('updates stored fields and leaves undefined ones alone', () => {
        const db = open();
        const ref = vm(db, { name_label: 'a', memory: 5 });
        const patchTags = ['t1'];
        db.update('VM', ref, { name_label: 'b', tags: patchTags, memory: undefined });
        patchTags.push('t2');
        const r = db.get('VM', ref)!;
        assert.equal(r['name_label'], 'b');
        assert.equal(r['memory'], 5);
        assert.deepEqual(r['tags'], ['t1']);
      });

      it('can move a uuid to a new value but not onto another object', () => {
        const db = open();
        const a = vm(db);
        const b = vm(db);
        const fresh = newUuid();
        db.update('VM', a, { uuid: fresh });
        assert.equal(db.refByUuid('VM', fresh), a);
        assert.throws(() => db.update('VM', a, { uuid: db.get('VM', b)!['uuid'] }), isProgrammingError(/already in use/));
      });
    });

    describe('validation', () => {
      it('refuses programming errors with plain Errors', () => {
        const db = open();
        const ref = vm(db);
        const uuid = db.get('VM', ref)!['uuid'];
        assert.throws(() => db.create('VM', newRef(), {}), isProgrammingError(/uuid/));
        assert.throws(() => db.create('VM', newRef(), { uuid: 42 }), isProgrammingError(/uuid/));
        assert.throws(() => db.create('VM', newRef(), { uuid }), isProgrammingError(/already in use/));
        assert.throws(() => db.create('VM', ref, { uuid: newUuid() }), isProgrammingError(/already exists/));
        assert.throws(() => db.create('VM', newRef(), { uuid: newUuid(), nope: 1 }), isProgrammingError(/no field nope/));
        assert.throws(() => db.create('VM', newRef(), { uuid: newUuid(), VBDs: [] }), isProgrammingError(/computed/));
        assert.throws(() => db.update('VM', ref, { VBDs: [] }), isProgrammingError(/computed/));
        assert.throws(() => db.update('VM', ref, { memory: '12' }), isProgrammingError(/expected int/));
        assert.throws(() => db.update('VM', ref, { memory: 1.5 }), isProgrammingError(/expected int/));
        assert.throws(() => db.update('VM', ref, { is_template: 1 }), isProgrammingError(/expected bool/));
        assert.throws(() => db.update('VM', ref, { power_state: 'running' }), isProgrammingError(/Halted/));
        assert.throws(() => db.update('VM', ref, { tags: 'a' }), isProgrammingError(/set/));
        assert.throws(() => db.update('VM', ref, { tags: [1] }), isProgrammingError(/set/));
        assert.throws(() => db.update('VM', ref, { other_config: { k: 1 } }), isProgrammingError(/map/));
        assert.throws(() => db.get('Nope', ref), isProgrammingError(/unknown class/));
        assert.throws(() => db.all('Nope'), isProgrammingError(/unknown class/));
        assert.throws(() => db.create('Nope', newRef(), { uuid: newUuid() }), isProgrammingError(/unknown class/));
        assert.equal(db.generation, 1, 'refused writes leave no trace');
        assert.equal(db.all('VM').length, 1);
      });

      it('answers HANDLE_INVALID for unknown refs', () => {
        const db = open();
        const ref = newRef<'VM'>();
        assert.throws(() => db.update('VM', ref, { name_label: 'x' }), isApiError('HANDLE_INVALID', ['VM', ref]));
        assert.throws(() => db.remove('VM', ref), isApiError('HANDLE_INVALID', ['VM', ref]));
        const live = vm(db);
        db.remove('VM', live);
        assert.throws(() => db.remove('VM', live), isApiError('HANDLE_INVALID', ['VM', live]));
      });
    });

    describe('inverse sets', () => {
      it('follow the ref field on the far side, in both directions', () => {
        const db = open();
        const a = vm(db);
        const b = vm(db);
        const d1 = vbd(db, a);
        const d2 = vbd(db, a);
        assert.deepEqual(db.get('VM', a)!['VBDs'], [d1, d2]);
        db.update('VBD', d1, { VM: b });
        assert.deepEqual(db.get('VM', a)!['VBDs'], [d2]);
        assert.deepEqual(db.get('VM', b)!['VBDs'], [d1]);
        db.remove('VBD', d2);
        assert.deepEqual(db.get('VM', a)!['VBDs'], []);
        db.update('VBD', d1, { VM: 'OpaqueRef:NULL' });
        assert.deepEqual(db.get('VM', b)!['VBDs'], []);
      });

      it('include objects that pointed at a ref before it existed', () => {
        const db = open();
        const later = newRef<'VM'>();
        const d = vbd(db, later);
        db.create('VM', later, { uuid: newUuid() });
        assert.deepEqual(db.get('VM', later)!['VBDs'], [d]);
      });

      it('work within one class and from a memory-only class', () => {
        const db = open();
        const a = vm(db);
        const snap = vm(db, { snapshot_of: a });
        const task = newRef<'task'>();
        db.create('task', task, { uuid: newUuid(), VM: a });
        const r = db.get('VM', a)!;
        assert.deepEqual(r['snapshots'], [snap]);
        assert.deepEqual(r['current_tasks'], [task]);
      });

      it('report the far-side objects as changed', () => {
        const db = open();
        const a = vm(db);
        const b = vm(db);
        const d = vbd(db, a);
        let since = db.generation;
        db.update('VBD', d, { VM: b });
        const got = db.changesSince(since, everything).changes;
        assert.deepEqual(new Set(got.map((c) => `${c.op} ${c.ref}`)), new Set([`mod ${a}`, `mod ${b}`, `mod ${d}`]));
        assert.ok(got.every((c) => c.gen === since + 1), 'one write, one generation');
        since = db.generation;
        db.update('VBD', d, { device: 'xvda' });
        assert.deepEqual(ops(db.changesSince(since, everything)), [`mod VBD ${d}`], 'a plain field leaves the VM alone');
        since = db.generation;
        db.remove('VBD', d);
        assert.deepEqual(new Set(ops(db.changesSince(since, everything))), new Set([`del VBD ${d}`, `mod VM ${b}`]));
      });
    });

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
        assert.ok(Date.now() - t0 < 1000);
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
        assert.ok(Date.now() - t0 < 2000);
        assert.deepEqual(ops(db.changesSince(since, everything)), [`mod VM ${a}`]);
      });

      it('times out', async () => {
        const db = open();
        const t0 = Date.now();
        await db.waitForChange(db.generation, 80);
        const took = Date.now() - t0;
        assert.ok(took >= 70 && took < 2000, `took ${took} ms`);
      });

      it('returns on abort, and on close', async () => {
        const db = open();
        const ac = new AbortController();
        const t0 = Date.now();
        setTimeout(() => ac.abort(), 20);
        await db.waitForChange(db.generation, 60_000, ac.signal);
        assert.ok(Date.now() - t0 < 5000);
        const p = db.waitForChange(db.generation, 60_000);
        setTimeout(() => db.close(), 20);
        await p;
        assert.ok(Date.now() - t0 < 5000);
        assert.throws(() => vm(db), /closed/);
      });
    });

    describe('meta', () => {
      it('stores, replaces and deletes strings', () => {
        const db = open();
        assert.equal(db.getMeta('k'), undefined);
        db.setMeta('k', 'v1');
        db.setMeta('k', 'v2');
        assert.equal(db.getMeta('k'), 'v2');
        db.setMeta('k', undefined);
        assert.equal(db.getMeta('k'), undefined);
      });
    });

    describe('dump and restore', () => {
      it('bring back persisted objects and meta, as ordinary changes', () => {
        const db = open();
        const a = vm(db, { name_label: 'a', tags: ['t'], other_config: { x: 'y' }, is_template: true });
        const d = vbd(db, a);
        const task = newRef<'task'>();
        db.create('task', task, { uuid: newUuid() });
        db.setMeta('k', 'v');
        const dump = db.dumpJson();
        const parsed = JSON.parse(dump) as { classes: Record<string, unknown[]> };
        assert.equal(parsed.classes['task'], undefined, 'memory-only classes are not dumped');
        const snapshot = { a: db.get('VM', a), d: db.get('VBD', d) };

        const b = vm(db);
        db.update('VM', a, { name_label: 'changed', tags: [] });
        db.remove('VBD', d);
        db.setMeta('k', undefined);
        db.setMeta('extra', '1');
        const since = db.generation;
        db.restoreJson(dump);
        assert.deepEqual(db.get('VM', a), snapshot.a);
        assert.deepEqual(db.get('VBD', d), snapshot.d);
        assert.equal(db.get('VM', b), undefined);
        assert.ok(db.get('task', task), 'memory-only objects stay');
        assert.equal(db.getMeta('k'), 'v');
        assert.equal(db.getMeta('extra'), undefined);
        assert.equal(db.generation, since + 1, 'one transaction');
        assert.deepEqual(new Set(ops(db.changesSince(since, everything))), new Set([`mod VM ${a}`, `add VBD ${d}`, `del VM ${b}`]));
        assert.throws(() => db.restoreJson('{"format":"other"}'), /not a database dump/);
        assert.throws(() => db.restoreJson('nonsense'), /not a database dump/);
      });

      it('restore into a fresh database of the same model', () => {
        const db = open();
        const a = vm(db, { name_label: 'a' });
        vbd(db, a);
        db.setMeta('k', 'v');
        const other = open();
        other.restoreJson(db.dumpJson());
        assert.deepEqual(other.all('VM'), db.all('VM'));
        assert.deepEqual(other.all('VBD'), db.all('VBD'));
        assert.equal(other.getMeta('k'), 'v');
      });
    });

    describe('read cost', () => {
      it('copies a 100-field row in microseconds', () => {
        const db = open(wideModel());
        const ref = newRef();
        const row: Row = { uuid: newUuid() };
        for (let i = 0; i < 100; i++) {
          row[`f${i}`] = i % 4 === 0 ? { a: 'b', c: 'd' } : i % 4 === 1 ? ['x', 'y'] : i % 4 === 2 ? i : `v${i}`;
        }
        db.create('wide', ref, row);
        assert.deepEqual(db.get('wide', ref), row);
        const n = 20_000;
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) db.get('wide', ref);
        const perGetUs = Number(process.hrtime.bigint() - t0) / 1000 / n;
        assert.ok(perGetUs < 50, `get of a 100-field row took ${perGetUs.toFixed(2)} µs`);
      });
    });
  });
}
