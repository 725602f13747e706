/**
 * @module
 * Keeping a member's database a copy of the master's. The master answers "what changed
 * since generation g" with the changed objects' stored fields (coalesced per object, as
 * `event.from` sees them) or, when the member is too far behind or its generation means
 * nothing here (a new master, a restored database), with a full dump. The member applies
 * either in one transaction together with the generation it has reached, so a member
 * killed at any point restarts from a consistent replica. Only persisted classes travel;
 * of the meta store only pool-wide entries (`user:*` accounts, `pool:*` settings) do, and
 * the member's own entries (which host it is, its replica position) stay.
 */
import { ApiError } from '../core/api-error.js';
import type { ChangeOp, PoolDb, Row } from '../core/ports/pool-db.js';
import { changedFields } from '../core/row-patch.js';
import type { Ref } from '../core/ref.js';
import type { ClassDecl } from '../datamodel/dsl.js';
import type { ForwardingPoolDb } from './forwarding-pool-db.js';

/** Meta keys shared by the whole pool; everything else in the meta store is the host's own. */
export function isReplicatedMeta(key: string): boolean {
  return key.startsWith('user:') || key.startsWith('pool:');
}

/** Where a member's replica stands in the master's generations. */
export const REPLICA_GEN_KEY = 'local:replica_gen';

export interface ReplicaChange {
  readonly cls: string;
  readonly ref: Ref;
  readonly op: ChangeOp;
  /** Stored fields, absent for `del`. */
  readonly row?: Row;
}

export type ReplicaUpdate =
  | { readonly kind: 'changes'; readonly gen: number; readonly changes: ReplicaChange[]; readonly meta: Record<string, string> }
  | { readonly kind: 'dump'; readonly gen: number; readonly dump: string };

/** Per persisted class, the fields a row stores (inverse sets are computed, never sent). */
export function storedFields(classes: readonly ClassDecl[]): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  for (const c of classes) if (c.persist) out.set(c.name, c.fields.filter((f) => !f.inverse).map((f) => f.name));
  return out;
}

function pick(row: Row, fields: readonly string[]): Row {
  const out: Row = {};
  for (const f of fields) if (f in row) out[f] = row[f];
  return out;
}

/** Every meta entry: straight from the database when it can list them, else through a dump. */
export function metaEntriesOf(db: PoolDb): Array<[string, string]> {
  const lister = db as PoolDb & { metaEntries?: () => Array<[string, string]> };
  if (typeof lister.metaEntries === 'function') return lister.metaEntries();
  return Object.entries((JSON.parse(db.dumpJson()) as { meta: Record<string, string> }).meta);
}

function replicatedMetaOnly(db: PoolDb): Record<string, string> {
  return Object.fromEntries(metaEntriesOf(db).filter(([k]) => isReplicatedMeta(k)));
}

/** Master side: the update that brings a replica at `since` (-1: none yet) up to now. */
export function changesFor(db: PoolDb, fields: ReadonlyMap<string, readonly string[]>, since: number): ReplicaUpdate {
  if (since >= 0) {
    try {
      const { changes, gen } = db.changesSince(since, (cls) => fields.has(cls));
      const out: ReplicaChange[] = [];
      for (const c of changes) {
        if (c.op === 'del') {
          out.push({ cls: c.cls, ref: c.ref, op: 'del' });
          continue;
        }
        const row = db.get(c.cls, c.ref);
        if (row) out.push({ cls: c.cls, ref: c.ref, op: c.op, row: pick(row, fields.get(c.cls)!) });
        else out.push({ cls: c.cls, ref: c.ref, op: 'del' });
      }
      return { kind: 'changes', gen, changes: out, meta: replicatedMetaOnly(db) };
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 'EVENTS_LOST')) throw e;
    }
  }
  const gen = db.generation;
  const dump = JSON.parse(db.dumpJson()) as { meta: Record<string, string> };
  dump.meta = Object.fromEntries(Object.entries(dump.meta).filter(([k]) => isReplicatedMeta(k)));
  return { kind: 'dump', gen, dump: JSON.stringify(dump) };
}

/** Member side: applies an update from the master to the replica, with its new position. */
export function applyUpdate(db: ForwardingPoolDb, u: ReplicaUpdate): void {
  const inner = db.inner;
  db.unforwarded(() => {
    if (u.kind === 'dump') {
      const dump = JSON.parse(u.dump) as { meta: Record<string, string> };
      for (const [k, v] of metaEntriesOf(inner)) if (!isReplicatedMeta(k)) dump.meta[k] = v;
      dump.meta[REPLICA_GEN_KEY] = String(u.gen);
      inner.restoreJson(JSON.stringify(dump));
      return;
    }
    inner.transaction(() => {
      for (const c of u.changes) applyChange(inner, c);
      for (const [k] of metaEntriesOf(inner)) if (isReplicatedMeta(k) && !(k in u.meta)) inner.setMeta(k, undefined);
      for (const [k, v] of Object.entries(u.meta)) if (inner.getMeta(k) !== v) inner.setMeta(k, v);
      inner.setMeta(REPLICA_GEN_KEY, String(u.gen));
    });
  });
}

function applyChange(db: PoolDb, c: ReplicaChange): void {
  const cur = db.get(c.cls, c.ref);
  if (c.op === 'del' || !c.row) {
    if (cur) db.remove(c.cls, c.ref);
    return;
  }
  if (!cur) {
    const uuid = c.row.uuid;
    const other = typeof uuid === 'string' ? db.refByUuid(c.cls, uuid) : undefined;
    if (other && other !== c.ref) db.remove(c.cls, other);
    db.create(c.cls, c.ref, c.row);
    return;
  }
  const patch = changedFields(cur, c.row);
  if (Object.keys(patch).length > 0) db.update(c.cls, c.ref, patch);
}

/** Where the replica stands, or -1 when it has never been filled. */
export function replicaGeneration(db: PoolDb): number {
  const v = db.getMeta(REPLICA_GEN_KEY);
  return v === undefined ? -1 : Number(v);
}

/** Master side: applies a batch of writes a member made to its replica. */
export function applyForwarded(db: PoolDb, batch: ReadonlyArray<import('./forwarding-pool-db.js').ForwardedWrite>): void {
  db.transaction(() => {
    for (const w of batch) {
      try {
        db.transaction(() => {
          if (w.op === 'meta') {
            if (isReplicatedMeta(w.key)) db.setMeta(w.key, w.value);
          } else if (w.op === 'create') {
            if (db.get(w.cls, w.ref)) db.update(w.cls, w.ref, w.row);
            else db.create(w.cls, w.ref, w.row);
          } else if (w.op === 'update') {
            if (db.get(w.cls, w.ref)) db.update(w.cls, w.ref, w.patch);
          } else if (db.get(w.cls, w.ref)) {
            db.remove(w.cls, w.ref);
          }
        });
      } catch {
        // A write that no longer fits the master's state (a uuid taken meanwhile) is dropped;
        // replication will show the member what the master kept.
      }
    }
  });
}
