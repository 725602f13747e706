/**
 * @module
 * The pool database port. Reads are synchronous and served from memory; writes are
 * durable when the call returns (an acknowledged write survives `kill -9`). Every write
 * bumps a generation counter, which is what `event.from` tokens count.
 *
 * Rows hold stored fields only; fields declared with `inverse` (VM.VBDs from VBD.VM) are
 * filled in by `get`/`all`, and a change to a relation also counts as a change of the
 * objects on its far side, as in xapi.
 */
import type { Ref } from '../ref.js';

export type Row = Record<string, unknown>;

export type ChangeOp = 'add' | 'mod' | 'del';

export interface ObjectChange {
  readonly cls: string;
  readonly ref: Ref;
  readonly op: ChangeOp;
  /** Generation at which this object last changed (or was deleted). */
  readonly gen: number;
}

export interface ChangesSince {
  /** One entry per object, its latest state only (coalesced), oldest first. */
  readonly changes: ObjectChange[];
  /** The generation the caller should pass next time. */
  readonly gen: number;
}

export interface PoolDb {
  /** Current generation; 0 for an empty database. */
  readonly generation: number;

  /** A full record (defaults and inverse fields included), or undefined. */
  get(cls: string, ref: Ref): Row | undefined;
  /** Every object of a class, in creation order. */
  all(cls: string): Array<[Ref, Row]>;
  refByUuid(cls: string, uuid: string): Ref | undefined;

  /** Adds an object; missing fields take their declared defaults. `uuid` is required. */
  create(cls: string, ref: Ref, row: Row): void;
  /** Changes some stored fields of an object that exists. */
  update(cls: string, ref: Ref, patch: Row): void;
  /** Removes an object, leaving a tombstone for event readers. */
  remove(cls: string, ref: Ref): void;
  /** Runs `fn` so that all its writes commit together or not at all. */
  transaction<T>(fn: () => T): T;

  /**
   * What changed after generation `since`, restricted by `wants(cls, ref)`.
   * Throws ApiError EVENTS_LOST when `since` is older than the tombstones kept.
   */
  changesSince(since: number, wants: (cls: string, ref: Ref) => boolean): ChangesSince;
  /** Resolves when the generation passes `since`, or after `timeoutMs`, or on abort. */
  waitForChange(since: number, timeoutMs: number, signal?: AbortSignal): Promise<void>;

  /** Small internal key/value store (user password hashes, journals), persisted. */
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string | undefined): void;

  close(): void;
}
