/**
 * @module
 * The SQLite side of the pool database: one table per persisted class (scalars as SQL
 * values, sets and maps as JSON text), tombstones, meta entries and bookkeeping numbers.
 * WAL with `synchronous=FULL` makes every commit durable before it returns. Opening a
 * file adds the tables and columns the datamodel gained since, giving existing rows the
 * declared default, so growing the model needs no migration script.
 */
import Database from 'better-sqlite3';
import type { Row } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import { defaultOf, type ClassSchema, type DbSchema, type FieldSpec } from './db-schema.js';
import type { LoadedState, PoolDbStore, StateKey, StoredObject, Tombstone } from './pool-db-store.js';

type Stmt = Database.Statement<unknown[]>;

interface ClassStmts {
  readonly schema: ClassSchema;
  /** Insert order: uuid first, then the other stored fields. */
  readonly columns: readonly FieldSpec[];
  readonly insert: Stmt;
  readonly touch: Stmt;
  readonly del: Stmt;
  readonly updates: Map<string, Stmt>;
}

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

const SQL_TYPE: Record<FieldSpec['kind'], string> = { bool: 'INTEGER', int: 'INTEGER', float: 'REAL', text: 'TEXT', json: 'TEXT' };

function encode(f: FieldSpec, v: unknown): unknown {
  switch (f.kind) {
    case 'bool': return v ? 1 : 0;
    case 'json': return JSON.stringify(v);
    default: return v;
  }
}

function decode(f: FieldSpec, v: unknown): unknown {
  if (v === null || v === undefined) return defaultOf(f);
  switch (f.kind) {
    case 'bool': return v !== 0;
    case 'int': case 'float': return typeof v === 'bigint' ? Number(v) : v;
    case 'json':
      try {
        return JSON.parse(v as string);
      } catch {
        return defaultOf(f);
      }
    default: return v;
  }
}

export class SqliteStore implements PoolDbStore {
  readonly #db: Database.Database;
  readonly #classes = new Map<string, ClassStmts>();
  readonly #stmts = new Map<string, Stmt>();
  #savepoints = 0;

  constructor(path: string, schema: DbSchema) {
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      this.#db = db;
      db.transaction(() => this.#migrate(schema))();
    } catch (e) {
      db.close();
      throw e;
    }
  }

  #sql(text: string): Stmt {
    let s = this.#stmts.get(text);
    if (!s) this.#stmts.set(text, (s = this.#db.prepare(text)));
    return s;
  }

  #migrate(schema: DbSchema): void {
    const db = this.#db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS _state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS _tombstone (
        cls TEXT NOT NULL, ref TEXT NOT NULL, created_gen INTEGER NOT NULL, deleted_gen INTEGER NOT NULL,
        PRIMARY KEY (cls, ref));
      CREATE INDEX IF NOT EXISTS _tombstone_by_gen ON _tombstone (deleted_gen);`);
    for (const s of schema.values()) {
      if (!s.persist) continue;
      const uuid = s.byName.get('uuid')!;
      const columns = [uuid, ...s.fields.filter((f) => f !== uuid)];
      const t = q(s.name);
      const decls = columns.slice(1).map((f) => `, ${q(f.name)} ${SQL_TYPE[f.kind]}`).join('');
      db.exec(`CREATE TABLE IF NOT EXISTS ${t} (ref TEXT PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,
        created_gen INTEGER NOT NULL, modified_gen INTEGER NOT NULL${decls})`);
      const have = new Set((db.pragma(`table_info(${t})`) as Array<{ name: string }>).map((c) => c.name.toLowerCase()));
      for (const f of columns) {
        if (have.has(f.name.toLowerCase())) continue;
        db.exec(`ALTER TABLE ${t} ADD COLUMN ${q(f.name)} ${SQL_TYPE[f.kind]}`);
        db.prepare(`UPDATE ${t} SET ${q(f.name)} = ?`).run(encode(f, f.dflt));
      }
      const names = columns.map((f) => q(f.name)).join(', ');
      this.#classes.set(s.name, {
        schema: s,
        columns,
        insert: db.prepare(`INSERT INTO ${t} (ref, created_gen, modified_gen, ${names}) VALUES (?, ?, ?, ${columns.map(() => '?').join(', ')})`),
        touch: db.prepare(`UPDATE ${t} SET modified_gen = ? WHERE ref = ?`),
        del: db.prepare(`DELETE FROM ${t} WHERE ref = ?`),
        updates: new Map(),
      });
    }
  }

  load(): LoadedState {
    const objects = new Map<string, StoredObject[]>();
    for (const [cls, c] of this.#classes) {
      const rows = this.#db.prepare(`SELECT * FROM ${q(cls)} ORDER BY rowid`).all() as Array<Record<string, unknown>>;
      objects.set(cls, rows.map((r) => {
        const row: Row = {};
        for (const f of c.columns) row[f.name] = decode(f, r[f.name]);
        return { ref: r['ref'] as Ref, createdGen: Number(r['created_gen']), modifiedGen: Number(r['modified_gen']), row };
      }));
    }
    const tombstones = (this.#db.prepare('SELECT cls, ref, created_gen, deleted_gen FROM _tombstone ORDER BY deleted_gen').all() as
      Array<{ cls: string; ref: Ref; created_gen: number; deleted_gen: number }>)
      .map((t): Tombstone => ({ cls: t.cls, ref: t.ref, createdGen: t.created_gen, deletedGen: t.deleted_gen }));
    const meta = new Map((this.#db.prepare('SELECT key, value FROM _meta').all() as Array<{ key: string; value: string }>)
      .map((m) => [m.key, m.value] as const));
    const state = new Map((this.#db.prepare('SELECT key, value FROM _state').all() as Array<{ key: StateKey; value: number }>)
      .map((s) => [s.key, Number(s.value)] as const));
    return { objects, tombstones, meta, state };
  }

  get active(): boolean {
    return this.#db.inTransaction;
  }

  begin(): void {
    this.#sql('BEGIN IMMEDIATE').run();
    this.#savepoints = 0;
  }

  commit(): void {
    this.#sql('COMMIT').run();
  }

  rollback(): void {
    if (this.#db.inTransaction) this.#sql('ROLLBACK').run();
  }

  savepoint(): string {
    const name = `islet_sp${++this.#savepoints}`;
    this.#sql(`SAVEPOINT ${name}`).run();
    return name;
  }

  release(name: string): void {
    this.#sql(`RELEASE ${name}`).run();
    this.#savepoints--;
  }

  rollbackTo(name: string): void {
    this.#sql(`ROLLBACK TO ${name}`).run();
    this.#sql(`RELEASE ${name}`).run();
    this.#savepoints--;
  }

  #c(cls: string): ClassStmts {
    const c = this.#classes.get(cls);
    if (!c) throw new Error(`db: class ${cls} is not persisted`);
    return c;
  }

  insertObject(cls: string, obj: StoredObject): void {
    const c = this.#c(cls);
    c.insert.run(obj.ref, obj.createdGen, obj.modifiedGen, ...c.columns.map((f) => encode(f, obj.row[f.name])));
  }

  updateObject(cls: string, ref: Ref, patch: Row, modifiedGen: number): void {
    const c = this.#c(cls);
    const names = Object.keys(patch);
    const key = names.join('\u0000');
    let stmt = c.updates.get(key);
    if (!stmt) {
      const sets = names.map((n) => `, ${q(n)} = ?`).join('');
      c.updates.set(key, (stmt = this.#db.prepare(`UPDATE ${q(cls)} SET modified_gen = ?${sets} WHERE ref = ?`)));
    }
    stmt.run(modifiedGen, ...names.map((n) => encode(c.schema.byName.get(n)!, patch[n])), ref);
  }

  touchObject(cls: string, ref: Ref, modifiedGen: number): void {
    this.#c(cls).touch.run(modifiedGen, ref);
  }

  deleteObject(cls: string, ref: Ref): void {
    this.#c(cls).del.run(ref);
  }

  putTombstone(t: Tombstone): void {
    this.#sql('INSERT OR REPLACE INTO _tombstone (cls, ref, created_gen, deleted_gen) VALUES (?, ?, ?, ?)')
      .run(t.cls, t.ref, t.createdGen, t.deletedGen);
  }

  dropTombstone(cls: string, ref: Ref): void {
    this.#sql('DELETE FROM _tombstone WHERE cls = ? AND ref = ?').run(cls, ref);
  }

  setMeta(key: string, value: string | undefined): void {
    if (value === undefined) this.#sql('DELETE FROM _meta WHERE key = ?').run(key);
    else this.#sql('INSERT INTO _meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  setState(key: StateKey, value: number): void {
    this.#sql('INSERT INTO _state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
