/**
 * @module
 * The pool database as one JSON document and back, for `xe pool-dump-database` and
 * `pool-restore-database`. A dump holds stored fields only (inverse sets are recomputed),
 * and only persisted classes (sessions and tasks belong to the running process). A restore
 * goes through ordinary writes in one transaction, so event readers see it as changes and
 * a failure leaves the database as it was; fields the dump lacks take their defaults and
 * fields or classes the model no longer has are dropped.
 */
import type { Row } from '../core/ports/pool-db.js';
import { changedFields } from '../core/row-patch.js';
import type { Ref } from '../core/ref.js';
import { cloneValue, defaultOf, isPlainObject, type ClassSchema, type DbSchema } from './db-schema.js';

export const DUMP_FORMAT = 'islet-pool-db';
export const DUMP_VERSION = 1;

export interface PoolDbDump {
  readonly format: typeof DUMP_FORMAT;
  readonly version: number;
  readonly generation: number;
  readonly meta: Record<string, string>;
  readonly classes: Record<string, Array<{ ref: Ref; row: Row }>>;
}

/** The parts of the database a dump needs; the core passes itself. */
interface Dumpable {
  readonly schema: DbSchema;
  readonly generation: number;
  get(cls: string, ref: Ref): Row | undefined;
  all(cls: string): Array<[Ref, Row]>;
  create(cls: string, ref: Ref, row: Row): void;
  update(cls: string, ref: Ref, patch: Row): void;
  remove(cls: string, ref: Ref): void;
  transaction<T>(fn: () => T): T;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string | undefined): void;
  metaEntries(): Array<[string, string]>;
}

function storedOnly(s: ClassSchema, row: Row): Row {
  const out: Row = {};
  for (const f of s.fields) out[f.name] = f.name in row && row[f.name] !== undefined ? row[f.name] : defaultOf(f);
  return out;
}

export function dumpPoolDb(db: Dumpable): string {
  const classes: PoolDbDump['classes'] = {};
  for (const s of db.schema.values()) {
    if (!s.persist) continue;
    classes[s.name] = db.all(s.name).map(([ref, row]) => ({ ref, row: storedOnly(s, row) }));
  }
  const dump: PoolDbDump = {
    format: DUMP_FORMAT,
    version: DUMP_VERSION,
    generation: db.generation,
    meta: Object.fromEntries(db.metaEntries()),
    classes,
  };
  return JSON.stringify(dump);
}

function parseDump(json: string): PoolDbDump {
  let d: unknown;
  try {
    d = JSON.parse(json);
  } catch (e) {
    throw new Error(`db: not a database dump: ${(e as Error).message}`);
  }
  if (!isPlainObject(d) || d['format'] !== DUMP_FORMAT) throw new Error('db: not a database dump');
  if (typeof d['version'] !== 'number' || d['version'] > DUMP_VERSION) throw new Error(`db: dump version ${String(d['version'])} is newer than this toolstack`);
  if (!isPlainObject(d['meta']) || !isPlainObject(d['classes'])) throw new Error('db: malformed database dump');
  return d as unknown as PoolDbDump;
}

export function restorePoolDb(db: Dumpable, json: string): void {
  const dump = parseDump(json);
  const wanted = new Map<string, Map<Ref, Row>>();
  for (const s of db.schema.values()) {
    if (!s.persist) continue;
    const rows = dump.classes[s.name] ?? [];
    if (!Array.isArray(rows)) throw new Error(`db: malformed dump for class ${s.name}`);
    const byRef = new Map<Ref, Row>();
    for (const r of rows) {
      if (!isPlainObject(r) || typeof r.ref !== 'string' || !isPlainObject(r.row)) throw new Error(`db: malformed ${s.name} object in dump`);
      byRef.set(r.ref, storedOnly(s, r.row));
    }
    wanted.set(s.name, byRef);
  }
  db.transaction(() => {
    // Removals first, so that a uuid moving to a new ref finds it free.
    for (const [cls, byRef] of wanted) {
      for (const [ref] of db.all(cls)) if (!byRef.has(ref)) db.remove(cls, ref);
    }
    for (const [cls, byRef] of wanted) {
      for (const [ref, row] of byRef) {
        const cur = db.get(cls, ref);
        if (!cur) {
          db.create(cls, ref, row);
          continue;
        }
        const patch = changedFields(cur, row);
        for (const [k, v] of Object.entries(patch)) patch[k] = cloneValue(v);
        if (Object.keys(patch).length > 0) db.update(cls, ref, patch);
      }
    }
    for (const [k] of db.metaEntries()) if (!(k in dump.meta)) db.setMeta(k, undefined);
    for (const [k, v] of Object.entries(dump.meta)) if (db.getMeta(k) !== v) db.setMeta(k, v);
  });
}
