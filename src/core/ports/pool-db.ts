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
import type { ClassName } from '../../datamodel/index.js';
import type { RecordOf } from '../record-of.js';
import type { Ref } from '../ref.js';

export type Row = Record<string, unknown>;

/**
 * The row a read of class `C` gives: the class's typed record (`RecordOf<'VM'>`) when `C`
 * is a declared class's literal name, a plain `Row` when the name is only known as a string.
 */
export type RowOf<C extends string> = string extends C ? Row : C extends ClassName ? RecordOf<C> : Row;

/** What a write of class `C` may give: some of its fields, each of its declared type. */
export type PatchOf<C extends string> = string extends C ? Row : C extends ClassName ? Partial<RecordOf<C>> : Row;

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
  /**
   * Current generation; 0 for an empty database. It never goes back, not even across a
   * restart or a crash (after a crash it may jump ahead).
   */
  readonly generation: number;

  /**
   * A full record (defaults and inverse fields included), or undefined. It is the caller's
   * own copy: changing it changes nothing in the database.
   */
  get<C extends string>(cls: C, ref: Ref): RowOf<C> | undefined;
  /** Every object of a class, in creation order, refs branded by the class asked for. */
  all<C extends string>(cls: C): Array<[Ref<C>, RowOf<C>]>;
  /**
   * The objects of a class for which `test` holds, in creation order, as `all` gives them.
   * `test` reads an object's fields (stored or inverse) through `field` without copying
   * the record, so a filter over a big class copies only what matches; it must not keep
   * or change what `field` returns.
   */
  where<C extends string>(cls: C, test: (field: (name: string) => unknown) => boolean): Array<[Ref<C>, RowOf<C>]>;
  /** How many objects a class holds (without copying them, as `all` would). */
  count(cls: string): number;
  refByUuid<C extends string>(cls: C, uuid: string): Ref<C> | undefined;

  /**
   * Adds an object; missing fields take their declared defaults. `uuid` is required and
   * unique within the class. An existing ref or uuid, an unknown or computed (inverse)
   * field, or a value of the wrong type is a programming error (a plain Error).
   */
  create<C extends string>(cls: C, ref: Ref, row: PatchOf<C>): void;
  /**
   * Changes some stored fields of an object; fields whose value is `undefined` are left
   * alone; an empty patch still counts as a change (event.inject). An unknown ref throws
   * ApiError HANDLE_INVALID [cls, ref].
   */
  update<C extends string>(cls: C, ref: Ref, patch: PatchOf<C>): void;
  /** Removes an object, leaving a tombstone for event readers. Unknown ref: HANDLE_INVALID. */
  remove(cls: string, ref: Ref): void;
  /**
   * Runs `fn` so that all its writes commit together (one generation) or not at all: if it
   * throws, the database is as before. A nested call joins the outer one; if it throws and
   * the outer catches, only the nested writes are undone. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T;

  /**
   * What changed after generation `since`, restricted by `wants(cls, ref)`. An object
   * created after `since` reports `add` whatever happened next, and reports nothing if it
   * is already gone again. A change of a relation (VBD.VM) also reports the objects whose
   * inverse sets changed (both VMs). Throws ApiError EVENTS_LOST when `since` is older than
   * the tombstones kept, or newer than the current generation (a token from an earlier run).
   */
  changesSince(since: number, wants: (cls: string, ref: Ref) => boolean): ChangesSince;
  /**
   * Resolves when the generation passes `since`, or after `timeoutMs`, or on abort; rejects
   * when the database is (or gets) closed, so that a wait-and-retry loop ends.
   */
  waitForChange(since: number, timeoutMs: number, signal?: AbortSignal): Promise<void>;

  /**
   * Small internal key/value store (user password hashes, journals), persisted, rolled back
   * with transactions; no generation counts its changes and no event reports them.
   */
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string | undefined): void;

  /** Every persisted object, the meta entries and the generation, as one JSON document. */
  dumpJson(): string;
  /**
   * Makes the persisted objects and meta entries those of a dump, in one transaction that
   * event readers see as ordinary changes. Memory-only objects are left alone.
   */
  restoreJson(json: string): void;

  /** Fails every waiter; later writes throw, reads still answer from memory. */
  close(): void;
}
