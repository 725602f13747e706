/**
 * @module
 * The pool database itself, kept in memory: validation, generations, computed inverse
 * sets, tombstones, coalesced change lists and transactions. Every mutation records how to
 * undo itself, so a failed transaction restores memory exactly; when a store is plugged
 * in, the same mutations are written through it inside a store transaction that commits
 * before the caller gets control back. Without a store this is the in-memory database.
 */
import { ApiError } from '../core/api-error.js';
import type { ChangesSince, PoolDb, Row, RowOf } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import type { ClassDecl } from '../datamodel/dsl.js';
import { ChangeLog, objectKey, type LogEntry } from './change-log.js';
import { ChangeWaiters } from './change-waiters.js';
import { type BackRef, type ClassSchema, type DbSchema, checkRow, compileSchema, hasRows, refsOf } from './db-schema.js';
import { InverseIndex } from './inverse-index.js';
import { dumpPoolDb, restorePoolDb } from './pool-db-dump.js';
import type { LoadedState, PoolDbStore, Tombstone } from './pool-db-store.js';
import { compileCopiers, type RowCopiers } from './row-copier.js';
import { Transactions } from './transactions.js';

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
  /** Declared classes that never have rows: reading them finds nothing, writing them is a bug. */
  readonly #rowless: ReadonlySet<string>;
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
  readonly #tx: Transactions;
  /** Classes a rollback put objects back into, whose creation order needs restoring. */
  readonly #resort = new Set<ClassState>();

  constructor(classes: readonly ClassDecl[], opts: PoolDbOptions = {}, openStore?: (schema: DbSchema) => PoolDbStore) {
    this.schema = compileSchema(classes);
    this.#rowless = new Set(classes.filter((c) => !hasRows(c)).map((c) => c.name));
    this.#maxTombstones = Math.max(0, opts.maxTombstones ?? 10000);
    for (const s of this.schema.values()) {
      const keys = s.inverses.map((i) => i.key);
      const copy = compileCopiers(s, (i, ref) => this.#index.get(keys[i]!, ref));
      this.#classes.set(s.name, { schema: s, copy, objects: new Map(), byUuid: new Map() });
    }
    const store = openStore?.(this.schema);
    try {
      if (store) this.#load(store.load());
    } catch (e) {
      store!.close();
      throw e;
    }
    this.#store = store;
    this.#tx = new Transactions(store, {
      nextGen: () => this.#gen + 1,
      finish: () => {
        this.#pruneTombstones();
        this.#raiseCeiling();
      },
      committed: (gen) => {
        this.#gen = gen;
        this.#log.maybeCompact(this.#liveCount(), () => this.#liveEntries());
        this.#waiters.notify(gen);
      },
      rolledBack: () => {
        for (const cs of this.#resort) cs.objects = new Map([...cs.objects].sort((a, b) => a[1].seq - b[1].seq));
        this.#resort.clear();
      },
    });
  }

  get generation(): number {
    return this.#gen;
  }

  // --- reads -------------------------------------------------------------------------

  // Rows are typed from the declarations (`RowOf`) because every write is checked
  // against them (`checkRow`); these casts are where that promise is made.
  get<C extends string>(cls: C, ref: Ref): RowOf<C> | undefined {
    const cs = this.#readable(cls);
    const e = cs?.objects.get(ref);
    return (e && cs!.copy.record(e.row, ref)) as RowOf<C> | undefined;
  }

  all<C extends string>(cls: C): Array<[Ref<C>, RowOf<C>]> {
    const cs = this.#readable(cls);
    const out: Array<[Ref<C>, RowOf<C>]> = [];
    if (cs) for (const [ref, e] of cs.objects) out.push([ref as Ref<C>, cs.copy.record(e.row, ref) as RowOf<C>]);
    return out;
  }

  where<C extends string>(cls: C, test: (field: (name: string) => unknown) => boolean): Array<[Ref<C>, RowOf<C>]> {
    const cs = this.#readable(cls);
    const out: Array<[Ref<C>, RowOf<C>]> = [];
    if (!cs) return out;
    const inverse = new Map(cs.schema.inverses.map((inv) => [inv.name, inv.key]));
    let ref: Ref;
    let row: Row;
    const field = (name: string): unknown => {
      const key = inverse.get(name);
      return key === undefined ? row[name] : this.#index.get(key, ref);
    };
    for (const [r, e] of cs.objects) {
      ref = r;
      row = e.row;
      if (test(field)) out.push([r as Ref<C>, cs.copy.record(e.row, r) as RowOf<C>]);
    }
    return out;
  }

  count(cls: string): number {
    return this.#readable(cls)?.objects.size ?? 0;
  }

  refByUuid<C extends string>(cls: C, uuid: string): Ref<C> | undefined {
    return this.#readable(cls)?.byUuid.get(uuid) as Ref<C> | undefined;
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
    for (const [f, v] of checkRow(cs.schema, row)) given[f.name] = v;
    const full = cs.copy.stored(given);
    const uuid = full['uuid'];
    if (typeof uuid !== 'string' || uuid === '') throw new Error(`db: ${cls} ${ref} needs a uuid`);
    if (cs.byUuid.has(uuid)) throw new Error(`db: ${cls} uuid ${uuid} is already in use`);
    this.#write(() => {
      const gen = this.#tx.gen;
      const entry: Entry = { row: full, createdGen: gen, modifiedGen: gen, seq: ++this.#seq };
      if (this.#stores(cs)) this.#tx.persist().insertObject(cls, { ref, createdGen: gen, modifiedGen: gen, row: full });
      const key = objectKey(cls, ref);
      const tomb = this.#log.tombstones.get(key);
      if (tomb) {
        if (this.#stores(cs)) this.#tx.persist().dropTombstone(cls, ref);
        this.#log.tombstones.delete(key);
        this.#tx.onUndo(() => this.#log.unprune([tomb], this.#log.prunedGen));
      }
      cs.objects.set(ref, entry);
      cs.byUuid.set(uuid, ref);
      this.#tx.onUndo(() => {
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
    const changes = checkRow(cs.schema, patch);
    const uuid = changes.find(([f]) => f.name === 'uuid')?.[1];
    if (uuid !== undefined) {
      if (uuid === '') throw new Error(`db: ${cls} ${ref} needs a uuid`);
      const holder = cs.byUuid.get(uuid as string);
      if (holder !== undefined && holder !== ref) throw new Error(`db: ${cls} uuid ${String(uuid)} is already in use`);
    }
    this.#write(() => {
      const gen = this.#tx.gen;
      if (this.#stores(cs)) this.#tx.persist().updateObject(cls, ref, Object.fromEntries(changes.map(([f, v]) => [f.name, v])), gen);
      const row = e.row;
      for (const [{ name }, v] of changes) {
        const old = row[name];
        row[name] = v;
        this.#tx.onUndo(() => { row[name] = old; });
        if (name === 'uuid' && old !== v) {
          cs.byUuid.delete(old as string);
          cs.byUuid.set(v as string, ref);
          this.#tx.onUndo(() => {
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
      const tomb: Tombstone = { cls, ref, createdGen: e.createdGen, deletedGen: this.#tx.gen };
      if (this.#stores(cs)) {
        this.#tx.persist().deleteObject(cls, ref);
        this.#tx.persist().putTombstone(tomb);
      }
      const uuid = e.row['uuid'] as string;
      cs.objects.delete(ref);
      cs.byUuid.delete(uuid);
      const key = objectKey(cls, ref);
      this.#log.tombstones.set(key, tomb);
      this.#tx.onUndo(() => {
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
      if (this.#store) this.#tx.persist().setMeta(key, value);
      const old = this.#meta.get(key);
      if (value === undefined) this.#meta.delete(key);
      else this.#meta.set(key, value);
      this.#tx.onUndo(() => {
        if (old === undefined) this.#meta.delete(key);
        else this.#meta.set(key, old);
      });
    });
  }

  /** Moves `ref` between inverse sets, and bumps the objects whose computed sets changed. */
  #relink(br: BackRef, ref: Ref, before: string[], after: string[]): void {
    const was = new Set(before);
    const now = new Set(after);
    for (const t of was) {
      if (now.has(t)) continue;
      this.#index.remove(br.key, t, ref);
      this.#tx.onUndo(() => this.#index.add(br.key, t, ref));
      this.#touchTargets(br, t);
    }
    for (const t of now) {
      if (was.has(t)) continue;
      this.#index.add(br.key, t, ref);
      this.#tx.onUndo(() => this.#index.remove(br.key, t, ref));
      this.#touchTargets(br, t);
    }
  }

  #touchTargets(br: BackRef, target: string): void {
    for (const cls of br.targets) {
      const cs = this.#classes.get(cls)!;
      const e = cs.objects.get(target as Ref);
      if (!e || e.modifiedGen === this.#tx.gen) continue;
      if (this.#stores(cs)) this.#tx.persist().touchObject(cls, target as Ref, this.#tx.gen);
      this.#setModified(e, this.#tx.gen);
      this.#logChange(cls, target as Ref);
    }
  }

  #setModified(e: Entry, gen: number): void {
    const old = e.modifiedGen;
    e.modifiedGen = gen;
    this.#tx.onUndo(() => { e.modifiedGen = old; });
  }

  #logChange(cls: string, ref: Ref): void {
    this.#log.append(this.#tx.gen, cls, ref);
    this.#tx.onUndo(() => this.#log.pop());
    this.#tx.dirty = true;
  }

  // --- transactions ------------------------------------------------------------------

  transaction<T>(fn: () => T): T {
    this.#assertOpen();
    return this.#tx.run(fn);
  }

  #write(fn: () => void): void {
    this.#assertOpen();
    this.#tx.write(fn);
  }

  /** Whether writes to this class go to the store (there is one, and the class persists). */
  #stores(cs: ClassState): boolean {
    return this.#store !== undefined && cs.schema.persist;
  }

  #pruneTombstones(): void {
    const oldPruned = this.#log.prunedGen;
    const pruned = this.#log.prune(this.#maxTombstones);
    if (pruned.length === 0) return;
    this.#tx.onUndo(() => this.#log.unprune(pruned, oldPruned));
    const stored = pruned.filter((t) => this.#stores(this.#classes.get(t.cls)!));
    for (const t of stored) this.#tx.persist().dropTombstone(t.cls, t.ref);
    if (stored.length > 0) this.#tx.persist().setState('pruned_gen', this.#log.prunedGen);
  }

  #raiseCeiling(): void {
    if (!this.#store || this.#tx.gen <= this.#ceiling) return;
    const old = this.#ceiling;
    this.#ceiling = this.#tx.gen + GENERATION_STEP;
    this.#tx.persist().setState('generation', this.#ceiling);
    this.#tx.onUndo(() => { this.#ceiling = old; });
  }

  // --- events ------------------------------------------------------------------------

  changesSince(since: number, wants: (cls: string, ref: Ref) => boolean): ChangesSince {
    // A token from the future comes from an earlier life of the database: nothing can be said about it.
    if (!Number.isFinite(since) || since < this.#log.prunedGen || since > this.#gen) throw new ApiError('EVENTS_LOST');
    const live = (cls: string, ref: Ref) => this.#classes.get(cls)!.objects.get(ref);
    return { changes: this.#log.changes(since, live, wants), gen: this.#gen };
  }

  waitForChange(since: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('db: the database is closed'));
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
    if (this.#tx.open) throw new Error('db: close() inside a transaction');
    this.#closed = true;
    this.#waiters.failAll(new Error('db: the database is closed'));
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
    if (cs) return cs;
    if (this.#rowless.has(cls)) throw new Error(`db: ${cls} has no uuid, so its values are not stored objects`);
    throw new Error(`db: unknown class ${cls}`);
  }

  #readable(cls: string): ClassState | undefined {
    return this.#rowless.has(cls) ? undefined : this.#cls(cls);
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('db: the database is closed');
  }
}
