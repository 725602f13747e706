/**
 * @module
 * The persistence hook under the in-memory pool database. The core decides everything
 * (validation, generations, inverse sets, tombstones) and tells a store only what to
 * write, inside transactions it opens lazily, so a database without a store is simply the
 * same database kept in memory. Only classes with `persist: true` ever reach a store.
 */
import type { Ref } from '../core/ref.js';
import type { Row } from '../core/ports/pool-db.js';

export interface StoredObject {
  readonly ref: Ref;
  readonly createdGen: number;
  readonly modifiedGen: number;
  /** Every stored field, decoded (missing columns already filled with defaults). */
  readonly row: Row;
}

export interface Tombstone {
  readonly cls: string;
  readonly ref: Ref;
  /** When the object was created, so that a reader who never saw it is not told of its end. */
  readonly createdGen: number;
  readonly deletedGen: number;
}

/** Bookkeeping numbers the store keeps beside the rows. */
export type StateKey = 'generation' | 'pruned_gen';

export interface LoadedState {
  /** Per class, its objects in creation order. */
  readonly objects: ReadonlyMap<string, readonly StoredObject[]>;
  /** Oldest first. */
  readonly tombstones: readonly Tombstone[];
  readonly meta: ReadonlyMap<string, string>;
  readonly state: ReadonlyMap<StateKey, number>;
}

export interface PoolDbStore {
  load(): LoadedState;

  readonly active: boolean;
  begin(): void;
  commit(): void;
  rollback(): void;
  /** Opens a nested scope inside the active transaction; returns its name. */
  savepoint(): string;
  release(name: string): void;
  rollbackTo(name: string): void;

  insertObject(cls: string, obj: StoredObject): void;
  updateObject(cls: string, ref: Ref, patch: Row, modifiedGen: number): void;
  touchObject(cls: string, ref: Ref, modifiedGen: number): void;
  deleteObject(cls: string, ref: Ref): void;
  putTombstone(t: Tombstone): void;
  dropTombstone(cls: string, ref: Ref): void;
  setMeta(key: string, value: string | undefined): void;
  setState(key: StateKey, value: number): void;

  close(): void;
}
