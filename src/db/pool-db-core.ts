/**
 * @module
 * The pool database itself, kept in memory: validation, generations, computed inverse
 * sets, tombstones, coalesced change lists and transactions. Every mutation records how to
 * undo itself, so a failed transaction restores memory exactly; when a store is plugged
 * in, the same mutations are written through it inside a store transaction that commits
 * before the caller gets control back. Without a store this is the in-memory database.
 */
import { ApiError } from '../core/api-error.js';
import type { ChangeOp, ChangesSince, ObjectChange, PoolDb, Row } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import type { ClassDecl } from '../datamodel/dsl.js';
import { ChangeLog, objectKey, type LogEntry } from './change-log.js';
import { ChangeWaiters } from './change-waiters.js';
import {
  type BackRef, type ClassSchema, type DbSchema, type FieldSpec, checkValue, compileSchema, copyOf, refsOf,
} from './db-schema.js';
import { InverseIndex } from './inverse-index.js';
import { dumpPoolDb, restorePoolDb } from './pool-db-dump.js';
import type { LoadedState, PoolDbStore, Tombstone } from './pool-db-store.js';
import { compileCopiers, type RowCopiers } from './row-copier.js';

export interface PoolDbOptions {
  /** Most deletions remembered for event readers; a token older than the forgotten ones gets EVENTS_LOST. */
  readonly maxTombstones?: number;
}

interface Entry {
  /** Stored fields only, all present; private to the database (reads copy it). */
  readonly row: Row;
  readonly createdGen: number;
  modifiedGen: number;
  /** Creation order, to put a rolled-back removal back in its place. */
  readonly seq: number;
}

interface ClassState {
  readonly schema: ClassSchema;
  readonly copy: RowCopiers;
  objects: Map<Ref, Entry>;
  readonly byUuid: Map<string, Ref>;
}

/**
 * Generations handed out for memory-only objects (tasks) are not written one by one; the
 * store instead keeps a ceiling this far ahead, and a reopened database starts from it,
 * so that no generation is ever handed out twice.
 */
const GENERATION_STEP = 1000;

export class PoolDbCore implements PoolDb {
  readonly schema: DbSchema;
  readonly #classes = new Map<string, ClassState>();
  readonly #index = new InverseIndex();
  readonly #log = new ChangeLog();
  readonly #waiters = new ChangeWaiters();
  readonly #meta = new Map<string, string>();
  readonly #store: PoolDbStore | undefined;
  readonly #maxTombstones: number;
  #gen = 0;
  #ceiling = 0;
  #seq = 0;
  #closed = false;
  // State of the open transaction, if any.
  #depth = 0;
  #txnGen = 0;
  #dirty = false;
  /** A write inside the transaction failed part-way; committing it is no longer safe. */
  #doomed: { error: unknown } | undefined;
  #undo: Array<() => void> = [];
  readonly #resort = new Set<ClassState>();

  constructor(classes: readonly ClassDecl[], opts: PoolDbOptions = {}, openStore?: (schema: DbSchema) => PoolDbStore) {
    this.schema = compileSchema(classes);
    this.#maxTombstones = Math.max(0, opts.maxTombstones ?? 10000);
    for (const s of this.schema.values()) {
      const keys = s.inverses.map((i) => i.key);
      const copy = compileCopiers(s, (i, ref) => this.#index.get(keys[i]!, ref));
      this.#classes.set(s.name, { schema: s, copy, objects: new Map(), byUuid: new Map() });
    }
    if (!openStore) return;
    const store = openStore(this.schema);
    try {
      this.#load(store.load());
    } catch (e) {
      store.close();
      throw e;
    }
    this.#store = store;
  }

  get generation(): number {
    return this.#gen;
  }

  // --- reads -------------------------------------------------------------------------

  get(cls: string, ref: Ref): Row | undefined {
    const cs = this.#cls(cls);
    const e = cs.objects.get(ref);
    return e && cs.copy.record(e.row, ref);
  }

  all(cls: string): Array<[Ref, Row]> {
    const cs = this.#cls(cls);
    const out: Array<[Ref, Row]> = [];
    for (const [ref, e] of cs.objects) out.push([ref, cs.copy.record(e.row, ref)]);
    return out;
  }

  refByUuid(cls: string, uuid: string): Ref | undefined {
    return this.#cls(cls).byUuid.get(uuid);
  }

  getMeta(key: string): string | undefined {
    return this.#meta.get(key);
  }

  /** Every meta entry, for dumps. */
  metaEntries(): Array<[string, string]> {
    return [...this.#meta];
  }

  // --- writes ------------------------------------------------------------------------

  create(cls: string, ref: Ref, row: Row): void {
    const cs = this.#cls(cls);
    if (typeof ref !== 'string' || ref === '') throw new Error(`db: ${cls}: bad ref ${String(ref)}`);
    if (cs.objects.has(ref)) throw new Error(`db: ${cls} ${ref} already exists`);
    const given: Row = {};
    for (const f of cs.schema.fields) given[f.name] = f.dflt;
    for (const [f, v] of this.#checked(cs, row)) given[f.name] = v;
    const full = cs.copy.stored(given);
    const uuid = full['uuid'];
    if (typeof uuid !== 'string' || uuid === '') throw new Error(`db: ${cls} ${ref} needs a uuid`);
    if (cs.byUuid.has(uuid)) throw new Error(`db: ${cls} uuid ${uuid} is already in use`);
    this.#write(() => {
      const gen = this.#txnGen;
      const entry: Entry = { row: full, createdGen: gen, modifiedGen: gen, seq: ++this.#seq };
      if (this.#stores(cs)) this.#persist().insertObject(cls, { ref, createdGen: gen, modifiedGen: gen, row: full });
      const key = objectKey(cls, ref);
      const tomb = this.#log.tombstones.get(key);
      if (tomb) {
        if (this.#stores(cs)) this.#persist().dropTombstone(cls, ref);
        this.#log.tombstones.delete(key);
        this.#undo.push(() => this.#restoreTombstones([tomb]));
      }
      cs.objects.set(ref, entry);
      cs.byUuid.set(uuid, ref);
      this.#undo.push(() => {
        cs.objects.delete(ref);
        cs.byUuid.delete(uuid);
      });
      for (const [field, br] of cs.schema.backRefs) this.#relink(br, ref, [], refsOf(full[field]));
      this.#logChange(cls, ref);
    });
  }

  update(cls: string, ref: Ref, patch: Row): void {
    const cs = this.#cls(cls);
    const e = cs.objects.get(ref);
    if (!e) throw new ApiError('HANDLE_INVALID', [cls, ref]);
    // An empty patch still counts as a change of the object: event.inject relies on it.
    const changes = this.#checked(cs, patch);
    const uuid = changes.find(([f]) => f.name === 'uuid')?.[1];
    if (uuid !== undefined) {
      if (uuid === '') throw new Error(`db: ${cls} ${ref} needs a uuid`);
      const holder = cs.byUuid.get(uuid as string);
      if (holder !== undefined && holder !== ref) throw new Error(`db: ${cls} uuid ${String(uuid)} is already in use`);
    }
    this.#write(() => {
      const gen = this.#txnGen;
      if (this.#stores(cs)) this.#persist().updateObject(cls, ref, Object.fromEntries(changes.map(([f, v]) => [f.name, v])), gen);
      const row = e.row;
      for (const [{ name }, v] of changes) {
        const old = row[name];
        row[name] = v;
        this.#undo.push(() => { row[name] = old; });
        if (name === 'uuid' && old !== v) {
          cs.byUuid.delete(old as string);
          cs.byUuid.set(v as string, ref);
          this.#undo.push(() => {
            cs.byUuid.delete(v as string);
            cs.byUuid.set(old as string, ref);
          });
        }
        const br = cs.schema.backRefs.get(name);
        if (br) this.#relink(br, ref, refsOf(old), refsOf(v));
      }
      this.#setModified(e, gen);
      this.#logChange(cls, ref);
    });
  }

  remove(cls: string, ref: Ref): void {
    const cs = this.#cls(cls);
    const e = cs.objects.get(ref);
    if (!e) throw new ApiError('HANDLE_INVALID', [cls, ref]);
    this.#write(() => {
      const tomb: Tombstone = { cls, ref, createdGen: e.createdGen, deletedGen: this.#txnGen };
      if (this.#stores(cs)) {
        this.#persist().deleteObject(cls, ref);
        this.#persist().putTombstone(tomb);
      }
      const uuid = e.row['uuid'] as string;
      cs.objects.delete(ref);
      cs.byUuid.delete(uuid);
      const key = objectKey(cls, ref);
      this.#log.tombstones.set(key, tomb);
      this.#undo.push(() => {
        this.#log.tombstones.delete(key);
        cs.objects.set(ref, e);
        cs.byUuid.set(uuid, ref);
        this.#resort.add(cs);
      });
      for (const [field, br] of cs.schema.backRefs) this.#relink(br, ref, refsOf(e.row[field]), []);
      this.#logChange(cls, ref);
    });
  }

  setMeta(key: string, value: string | undefined): void {
    if (typeof key !== 'string') throw new Error('db: meta keys are strings');
    if (value !== undefined && typeof value !== 'string') throw new Error(`db: meta ${key}: values are strings`);
    this.#write(() => {
      if (this.#store) this.#persist().setMeta(key, value);
      const old = this.#meta.get(key);
      if (value === undefined) this.#meta.delete(key);
      else this.#meta.set(key, value);
      this.#undo.push(() => {
        if (old === undefined) this.#meta.delete(key);
        else this.#meta.set(key, old);
      });
    });
  }

  /** Validated `[field, value]` pairs of a row or patch, values copied; undefined ones are skipped. */
  #checked(cs: ClassState, row: Row): Array<[FieldSpec, unknown]> {
    if (typeof row !== 'object' || row === null) throw new Error(`db: ${cs.schema.name}: a row is an object`);
    const out: Array<[FieldSpec, unknown]> = [];
    for (const name of Object.keys(row)) {
      const v = row[name];
      if (v === undefined) continue;
      const f = cs.schema.byName.get(name);
      if (!f) {
        if (cs.schema.computed.has(name)) throw new Error(`db: ${cs.schema.name}.${name} is computed and cannot be written`);
        throw new Error(`db: ${cs.schema.name} has no field ${name}`);
      }
      const problem = checkValue(f.ty, v);
      if (problem) throw new Error(`db: ${cs.schema.name}.${name}: ${problem}`);
      out.push([f, copyOf(f, v)]);
    }
    return out;
  }

  /** Moves `ref` between inverse sets, and bumps the objects whose computed sets changed. */
  #relink(br: BackRef, ref: Ref, before: string[], after: string[]): void {
    const was = new Set(before);
    const now = new Set(after);
    for (const t of was) {
      if (now.has(t)) continue;
      this.#index.remove(br.key, t, ref);
      this.#undo.push(() => this.#index.add(br.key, t, ref));
      this.#touchTargets(br, t);
    }
    for (const t of now) {
      if (was.has(t)) continue;
      this.#index.add(br.key, t, ref);
      this.#undo.push(() => this.#index.remove(br.key, t, ref));
      this.#touchTargets(br, t);
    }
  }

  #touchTargets(br: BackRef, target: string): void {
    for (const cls of br.targets) {
      const cs = this.#classes.get(cls)!;
      const e = cs.objects.get(target as Ref);
      if (!e || e.modifiedGen === this.#txnGen) continue;
      if (this.#stores(cs)) this.#persist().touchObject(cls, target as Ref, this.#txnGen);
      this.#setModified(e, this.#txnGen);
      this.#logChange(cls, target as Ref);
    }
  }

  #setModified(e: Entry, gen: number): void {
    const old = e.modifiedGen;
    e.modifiedGen = gen;
    this.#undo.push(() => { e.modifiedGen = old; });
  }

  #logChange(cls: string, ref: Ref): void {
    this.#log.append(this.#txnGen, cls, ref);
    this.#undo.push(() => this.#log.pop());
    this.#dirty = true;
  }

  // --- transactions ------------------------------------------------------------------

  transaction<T>(fn: () => T): T {
    this.#assertOpen();
    return this.#depth === 0 ? this.#outer(fn) : this.#nested(fn);
  }

  /** A single write joins the open transaction, or is a transaction of its own. */
  #write(fn: () => void): void {
    this.#assertOpen();
    if (this.#depth === 0) {
      this.#outer(fn);
      return;
    }
    try {
      fn();
    } catch (error) {
      this.#doomed ??= { error };
      throw error;
    }
  }

  #outer<T>(fn: () => T): T {
    this.#depth = 1;
    this.#txnGen = this.#gen + 1;
    this.#dirty = false;
    this.#doomed = undefined;
    this.#undo = [];
    let result: T;
    try {
      result = fn();
      assertSync(result);
      // fn() may have set it: TypeScript cannot see that through the call.
      const doomed = this.#doomed as { error: unknown } | undefined;
      if (doomed) throw new Error('db: transaction abandoned: a write inside it failed', { cause: doomed.error });
      if (this.#dirty) {
        this.#pruneTombstones();
        this.#raiseCeiling();
      }
      if (this.#store?.active) this.#store.commit();
    } catch (e) {
      this.#rollbackTo(0);
      if (this.#store?.active) {
        try { this.#store.rollback(); } catch { /* the store is already unusable; keep the first error */ }
      }
      throw e;
    } finally {
      this.#depth = 0;
      this.#undo = [];
      this.#doomed = undefined;
    }
    if (this.#dirty) {
      this.#gen = this.#txnGen;
      this.#log.maybeCompact(this.#liveCount(), () => this.#liveEntries());
      this.#waiters.notify(this.#gen);
    }
    return result;
  }

  /** An inner transaction: a savepoint, so that a caught inner failure leaves the outer intact. */
  #nested<T>(fn: () => T): T {
    const mark = this.#undo.length;
    const dirty = this.#dirty;
    const doomed = this.#doomed;
    const store = this.#store;
    const sp = store?.active ? store.savepoint() : undefined;
    this.#depth++;
    try {
      const r = fn();
      assertSync(r);
      if (sp) store!.release(sp);
      return r;
    } catch (e) {
      this.#rollbackTo(mark);
      this.#dirty = dirty;
      this.#doomed = doomed;
      try {
        // With no savepoint the store transaction began inside this scope: all of it goes.
        if (sp) store!.rollbackTo(sp);
        else if (store?.active) store.rollback();
      } catch (error) {
        this.#doomed ??= { error };
      }
      throw e;
    } finally {
      this.#depth--;
    }
  }

  #rollbackTo(mark: number): void {
    while (this.#undo.length > mark) this.#undo.pop()!();
    for (const cs of this.#resort) cs.objects = new Map([...cs.objects].sort((a, b) => a[1].seq - b[1].seq));
    this.#resort.clear();
  }

  /** Whether writes to this class go to the store (there is one, and the class persists). */
  #stores(cs: ClassState): boolean {
    return this.#store !== undefined && cs.schema.persist;
  }

  #persist(): PoolDbStore {
    const store = this.#store!;
    if (!store.active) store.begin();
    return store;
  }

  #pruneTombstones(): void {
    const excess = this.#log.tombstones.size - this.#maxTombstones;
    if (excess <= 0) return;
    const pruned: Tombstone[] = [];
    let persisted = false;
    for (const [key, t] of this.#log.tombstones) {
      if (pruned.length >= excess) break;
      if (this.#stores(this.#classes.get(t.cls)!)) {
        this.#persist().dropTombstone(t.cls, t.ref);
        persisted = true;
      }
      this.#log.tombstones.delete(key);
      pruned.push(t);
    }
    const oldPruned = this.#log.prunedGen;
    this.#log.prunedGen = Math.max(oldPruned, ...pruned.map((t) => t.deletedGen));
    if (persisted) this.#persist().setState('pruned_gen', this.#log.prunedGen);
    this.#undo.push(() => {
      this.#log.prunedGen = oldPruned;
      this.#restoreTombstones(pruned);
    });
  }

  /** Puts forgotten tombstones back in deletion order (rollback only, so rarely). */
  #restoreTombstones(ts: readonly Tombstone[]): void {
    const all = [...ts, ...this.#log.tombstones.values()].sort((a, b) => a.deletedGen - b.deletedGen);
    this.#log.tombstones.clear();
    for (const t of all) this.#log.tombstones.set(objectKey(t.cls, t.ref), t);
  }

  #raiseCeiling(): void {
    if (!this.#store || this.#txnGen <= this.#ceiling) return;
    const old = this.#ceiling;
    this.#ceiling = this.#txnGen + GENERATION_STEP;
    this.#persist().setState('generation', this.#ceiling);
    this.#undo.push(() => { this.#ceiling = old; });
  }

  // --- events ------------------------------------------------------------------------

  changesSince(since: number, wants: (cls: string, ref: Ref) => boolean): ChangesSince {
    // A token from the future comes from an earlier life of the database: nothing can be said about it.
    if (!Number.isFinite(since) || since < this.#log.prunedGen || since > this.#gen) throw new ApiError('EVENTS_LOST');
    const changes: ObjectChange[] = [];
    const seen = new Set<string>();
    for (const en of this.#log.after(since)) {
      const key = objectKey(en.cls, en.ref);
      if (seen.has(key)) continue;
      let op: ChangeOp;
      const e = this.#classes.get(en.cls)!.objects.get(en.ref);
      if (e) {
        if (e.modifiedGen !== en.gen) continue; // a later entry describes it
        op = e.createdGen > since ? 'add' : 'mod';
      } else {
        const t = this.#log.tombstones.get(key);
        if (!t || t.deletedGen !== en.gen) continue;
        seen.add(key);
        if (t.createdGen > since) continue; // born and gone since the reader last looked
        op = 'del';
      }
      seen.add(key);
      if (wants(en.cls, en.ref)) changes.push({ cls: en.cls, ref: en.ref, op, gen: en.gen });
    }
    return { changes, gen: this.#gen };
  }

  waitForChange(since: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#waiters.wait(since, this.#gen, timeoutMs, signal);
  }

  // --- dump, load, close -------------------------------------------------------------

  /** Every persisted object, the meta entries and the generation, as JSON text. */
  dumpJson(): string {
    return dumpPoolDb(this);
  }

  /** Makes the persisted objects and meta entries those of a dump, in one transaction. */
  restoreJson(json: string): void {
    restorePoolDb(this, json);
  }

  close(): void {
    if (this.#closed) return;
    if (this.#depth > 0) throw new Error('db: close() inside a transaction');
    this.#closed = true;
    this.#waiters.wakeAll();
    const store = this.#store;
    if (!store) return;
    try {
      // A clean shutdown may pin the exact generation: nothing beyond it was handed out.
      if (this.#gen < this.#ceiling) {
        store.begin();
        store.setState('generation', this.#gen);
        store.commit();
      }
    } finally {
      store.close();
    }
  }

  #load(state: LoadedState): void {
    const live: LogEntry[] = [];
    let gen = state.state.get('generation') ?? 0;
    for (const [cls, objs] of state.objects) {
      const cs = this.#classes.get(cls);
      if (!cs?.schema.persist) continue;
      for (const o of objs) {
        cs.objects.set(o.ref, { row: cs.copy.stored(o.row), createdGen: o.createdGen, modifiedGen: o.modifiedGen, seq: ++this.#seq });
        cs.byUuid.set(o.row['uuid'] as string, o.ref);
        for (const [field, br] of cs.schema.backRefs) {
          for (const t of refsOf(o.row[field])) this.#index.add(br.key, t, o.ref);
        }
        live.push({ gen: o.modifiedGen, cls, ref: o.ref });
        gen = Math.max(gen, o.modifiedGen);
      }
    }
    const tombs = state.tombstones.filter((t) => this.#classes.get(t.cls)?.schema.persist);
    for (const t of tombs) gen = Math.max(gen, t.deletedGen);
    this.#log.reset(live, tombs, state.state.get('pruned_gen') ?? 0);
    for (const [k, v] of state.meta) this.#meta.set(k, v);
    this.#gen = gen;
    this.#ceiling = gen;
  }

  #liveCount(): number {
    let n = 0;
    for (const cs of this.#classes.values()) n += cs.objects.size;
    return n;
  }

  *#liveEntries(): Generator<LogEntry> {
    for (const [cls, cs] of this.#classes) for (const [ref, e] of cs.objects) yield { gen: e.modifiedGen, cls, ref };
  }

  #cls(cls: string): ClassState {
    const cs = this.#classes.get(cls);
    if (!cs) throw new Error(`db: unknown class ${cls}`);
    return cs;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('db: the database is closed');
  }
}

function assertSync(result: unknown): void {
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    throw new Error('db: transaction callbacks must be synchronous (writes after an await would escape it)');
  }
}
