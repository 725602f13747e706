/**
 * @module
 * Which in-flight requests must wait for which. Requests on one connection run
 * concurrently except where the result would depend on timing: a write waits for every
 * earlier request overlapping its range (so overlapping writes land in arrival order and
 * an earlier read never sees later data), a read waits for earlier overlapping writes,
 * and a flush waits for all earlier writes, which is stronger than the spec asks (only
 * acknowledged writes) and costs nothing since clients flush after their writes anyway.
 */

export type Access = 'read' | 'write' | 'flush';

export interface OrderEntry {
  readonly start: number;
  readonly end: number;
  readonly access: Access;
  /** Callbacks of later entries waiting for this one. */
  waiters: (() => void)[] | undefined;
}

export class RequestOrder {
  private readonly active = new Set<OrderEntry>();

  get size(): number {
    return this.active.size;
  }

  /**
   * Registers a request; `ready` is undefined when it may start at once, else a promise
   * settled when every earlier conflicting request has left.
   */
  enter(start: number, end: number, access: Access): { entry: OrderEntry; ready: Promise<void> | undefined } {
    const entry: OrderEntry = { start, end, access, waiters: undefined };
    let deps = 0;
    let release: (() => void) | undefined;
    const onDepDone = (): void => {
      if (--deps === 0) release!();
    };
    for (const e of this.active) {
      if (!conflicts(e, entry)) continue;
      deps++;
      (e.waiters ??= []).push(onDepDone);
    }
    this.active.add(entry);
    if (deps === 0) return { entry, ready: undefined };
    return { entry, ready: new Promise<void>((r) => (release = r)) };
  }

  leave(entry: OrderEntry): void {
    this.active.delete(entry);
    const w = entry.waiters;
    entry.waiters = undefined;
    if (w) for (const f of w) f();
  }
}

function conflicts(earlier: OrderEntry, later: OrderEntry): boolean {
  if (later.access === 'flush') return earlier.access === 'write';
  if (earlier.access === 'flush') return false;
  if (earlier.access === 'read' && later.access === 'read') return false;
  return earlier.start < later.end && later.start < earlier.end;
}
