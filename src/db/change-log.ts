/**
 * @module
 * The record of what changed when: an append-only list of (generation, object) entries in
 * generation order, plus the tombstones of deleted objects. An object may appear many
 * times; only the entry carrying its current generation counts, which is how readers get
 * one coalesced change per object without a scan of the whole database. The list is
 * compacted once stale entries outnumber live ones.
 */
import type { ChangeOp, ObjectChange } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import type { Tombstone } from './pool-db-store.js';

export interface LogEntry {
  readonly gen: number;
  readonly cls: string;
  readonly ref: Ref;
}

export function objectKey(cls: string, ref: string): string {
  return `${cls}\u0000${ref}`;
}

export class ChangeLog {
  #entries: LogEntry[] = [];
  /** Insertion order is deletion order, so the oldest tombstone is the first. */
  readonly tombstones = new Map<string, Tombstone>();
  /** Newest deletion forgotten by pruning; readers from before it may have missed one. */
  prunedGen = 0;

  get length(): number {
    return this.#entries.length;
  }

  append(gen: number, cls: string, ref: Ref): void {
    this.#entries.push({ gen, cls, ref });
  }

  /** Undoes the latest append (rollback runs undos newest first, so they pair up). */
  pop(): void {
    this.#entries.pop();
  }

  /** Entries with a generation above `since`, oldest first. */
  *after(since: number): Generator<LogEntry> {
    const e = this.#entries;
    let lo = 0;
    let hi = e.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (e[mid]!.gen <= since) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < e.length; i++) yield e[i]!;
  }

  /**
   * One change per object whose latest entry is after `since`, oldest first. `live` finds
   * an object that exists; one created after `since` reports `add` whatever came next,
   * and reports nothing if it is already gone again.
   */
  changes(
    since: number,
    live: (cls: string, ref: Ref) => { readonly createdGen: number; readonly modifiedGen: number } | undefined,
    wants: (cls: string, ref: Ref) => boolean,
  ): ObjectChange[] {
    const out: ObjectChange[] = [];
    const seen = new Set<string>();
    for (const en of this.after(since)) {
      const key = objectKey(en.cls, en.ref);
      if (seen.has(key)) continue;
      let op: ChangeOp;
      const e = live(en.cls, en.ref);
      if (e) {
        if (e.modifiedGen !== en.gen) continue; // a later entry describes it
        op = e.createdGen > since ? 'add' : 'mod';
      } else {
        const t = this.tombstones.get(key);
        if (!t || t.deletedGen !== en.gen) continue;
        seen.add(key);
        if (t.createdGen > since) continue; // born and gone since the reader last looked
        op = 'del';
      }
      seen.add(key);
      if (wants(en.cls, en.ref)) out.push({ cls: en.cls, ref: en.ref, op, gen: en.gen });
    }
    return out;
  }

  /** Forgets the oldest tombstones beyond `max`; returns them. */
  prune(max: number): Tombstone[] {
    const pruned: Tombstone[] = [];
    const excess = this.tombstones.size - max;
    for (const [key, t] of this.tombstones) {
      if (pruned.length >= excess) break;
      this.tombstones.delete(key);
      pruned.push(t);
      this.prunedGen = Math.max(this.prunedGen, t.deletedGen);
    }
    return pruned;
  }

  /** Puts tombstones back in deletion order (rollbacks only, so rarely). */
  unprune(ts: readonly Tombstone[], prunedGen: number): void {
    const all = [...ts, ...this.tombstones.values()].sort((a, b) => a.deletedGen - b.deletedGen);
    this.tombstones.clear();
    for (const t of all) this.tombstones.set(objectKey(t.cls, t.ref), t);
    this.prunedGen = prunedGen;
  }

  /** Rebuilds the list from the current state when it has grown well past it. */
  maybeCompact(liveCount: number, live: () => Iterable<LogEntry>): void {
    const current = liveCount + this.tombstones.size;
    if (this.#entries.length <= 2 * current + 1024) return;
    const rebuilt: LogEntry[] = [...live()];
    for (const t of this.tombstones.values()) rebuilt.push({ gen: t.deletedGen, cls: t.cls, ref: t.ref });
    rebuilt.sort((a, b) => a.gen - b.gen);
    this.#entries = rebuilt;
  }

  /** Replaces everything, as when a database is loaded. */
  reset(live: LogEntry[], tombstones: readonly Tombstone[], prunedGen: number): void {
    this.tombstones.clear();
    for (const t of [...tombstones].sort((a, b) => a.deletedGen - b.deletedGen)) {
      this.tombstones.set(objectKey(t.cls, t.ref), t);
      live.push({ gen: t.deletedGen, cls: t.cls, ref: t.ref });
    }
    this.#entries = live.sort((a, b) => a.gen - b.gen);
    this.prunedGen = prunedGen;
  }
}
