/**
 * @module
 * The database a pool member runs on: its local replica of the master's database, read
 * locally, whose writes are also sent to the master. In xapi a member has no database of
 * its own and every write goes to the master; here actions stay synchronous against the
 * replica, and what they write (a PBD attached on this host, the host's own agent start
 * time) is queued, one batch per committed transaction, for the master to apply, after
 * which replication brings the master's word back. Rows of memory-only classes (sessions,
 * tasks) and host-local meta entries stay local. On the master the forwarder is off and
 * this is a transparent wrapper.
 */
import type { ChangesSince, PoolDb, Row, RowOf } from '../core/ports/pool-db.js';
import type { Ref } from '../core/ref.js';
import { metaEntriesOf } from './replication.js';

export type ForwardedWrite =
  | { readonly op: 'create'; readonly cls: string; readonly ref: Ref; readonly row: Row }
  | { readonly op: 'update'; readonly cls: string; readonly ref: Ref; readonly patch: Row }
  | { readonly op: 'remove'; readonly cls: string; readonly ref: Ref }
  | { readonly op: 'meta'; readonly key: string; readonly value?: string };

export type Forwarder = (batch: ForwardedWrite[]) => void;

const copy = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

export class ForwardingPoolDb implements PoolDb {
  #forward: Forwarder | undefined;
  readonly #frames: ForwardedWrite[][] = [];
  readonly #held: ForwardedWrite[][] = [];
  #quiet = 0;

  constructor(
    readonly inner: PoolDb,
    private readonly persisted: (cls: string) => boolean,
    private readonly replicatedMeta: (key: string) => boolean,
  ) {}

  /**
   * Starts (a function) or stops (undefined) sending this host's writes to the master;
   * writes held since `hold()` go to the new forwarder first.
   */
  setForwarder(f: Forwarder | undefined): void {
    this.#forward = f;
    const held = this.#held.splice(0);
    if (f) for (const b of held) this.#emit(b);
  }

  /** Keeps this host's writes until a forwarder is set (a member before its link is up). */
  hold(): void {
    this.#forward = (b) => { this.#held.push(b); };
  }

  /** Whether writes are being kept or sent (this host is a member). */
  get forwarding(): boolean {
    return this.#forward !== undefined;
  }

  /** Runs `fn` without forwarding its writes: replication applying the master's state. */
  unforwarded<T>(fn: () => T): T {
    this.#quiet++;
    try {
      return fn();
    } finally {
      this.#quiet--;
    }
  }

  get generation(): number {
    return this.inner.generation;
  }
  get<C extends string>(cls: C, ref: Ref): RowOf<C> | undefined {
    return this.inner.get(cls, ref);
  }
  all<C extends string>(cls: C): Array<[Ref<C>, RowOf<C>]> {
    return this.inner.all(cls);
  }
  where<C extends string>(cls: C, test: (field: (name: string) => unknown) => boolean): Array<[Ref<C>, RowOf<C>]> {
    return this.inner.where(cls, test);
  }
  count(cls: string): number {
    return this.inner.count(cls);
  }
  refByUuid<C extends string>(cls: C, uuid: string): Ref<C> | undefined {
    return this.inner.refByUuid(cls, uuid);
  }
  changesSince(since: number, wants: (cls: string, ref: Ref) => boolean): ChangesSince {
    return this.inner.changesSince(since, wants);
  }
  waitForChange(since: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.inner.waitForChange(since, timeoutMs, signal);
  }
  getMeta(key: string): string | undefined {
    return this.inner.getMeta(key);
  }
  /** Every meta entry (replication reads the pool-wide ones). */
  metaEntries(): Array<[string, string]> {
    return metaEntriesOf(this.inner);
  }
  dumpJson(): string {
    return this.inner.dumpJson();
  }
  restoreJson(json: string): void {
    this.inner.restoreJson(json);
  }
  close(): void {
    this.inner.close();
  }

  create(cls: string, ref: Ref, row: Row): void {
    this.inner.create(cls, ref, row);
    if (this.persisted(cls)) this.#record({ op: 'create', cls, ref, row: copy(row) });
  }
  update(cls: string, ref: Ref, patch: Row): void {
    this.inner.update(cls, ref, patch);
    if (this.persisted(cls)) this.#record({ op: 'update', cls, ref, patch: copy(patch) });
  }
  remove(cls: string, ref: Ref): void {
    this.inner.remove(cls, ref);
    if (this.persisted(cls)) this.#record({ op: 'remove', cls, ref });
  }
  setMeta(key: string, value: string | undefined): void {
    this.inner.setMeta(key, value);
    if (this.replicatedMeta(key)) this.#record(value === undefined ? { op: 'meta', key } : { op: 'meta', key, value });
  }

  transaction<T>(fn: () => T): T {
    this.#frames.push([]);
    let ok = false;
    try {
      const r = this.inner.transaction(fn);
      ok = true;
      return r;
    } finally {
      const mine = this.#frames.pop()!;
      if (ok && mine.length > 0) {
        const outer = this.#frames[this.#frames.length - 1];
        if (outer) outer.push(...mine);
        else this.#emit(mine);
      }
    }
  }

  #record(w: ForwardedWrite): void {
    if (!this.#forward || this.#quiet > 0) return;
    const top = this.#frames[this.#frames.length - 1];
    if (top) top.push(w);
    else this.#emit([w]);
  }

  #emit(batch: ForwardedWrite[]): void {
    try {
      this.#forward?.(batch);
    } catch {
      // The sender queues; it never throws into the action that wrote.
    }
  }
}
