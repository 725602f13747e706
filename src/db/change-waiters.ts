/**
 * @module
 * Parked `event.from` callers. Each waits for the generation to pass its token; a commit
 * wakes exactly the ones it satisfies, so nobody polls. A waiter also leaves on its timeout
 * or when its caller aborts. Closing the database fails them all: a caller that looped on
 * "no changes yet, wait again" would otherwise spin without ever yielding.
 */

interface Waiter {
  readonly since: number;
  readonly wake: () => void;
  readonly fail: (e: Error) => void;
}

/** setTimeout fires at once for delays it cannot represent; those mean "no timeout". */
const MAX_DELAY = 2 ** 31 - 1;

export class ChangeWaiters {
  readonly #waiters = new Set<Waiter>();

  get size(): number {
    return this.#waiters.size;
  }

  wait(since: number, current: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (current > since || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = (): boolean => {
        if (!this.#waiters.delete(waiter)) return false;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        return true;
      };
      const wake = (): void => {
        if (leave()) resolve();
      };
      const fail = (e: Error): void => {
        if (leave()) reject(e);
      };
      const waiter: Waiter = { since, wake, fail };
      this.#waiters.add(waiter);
      if (Number.isFinite(timeoutMs) && timeoutMs <= MAX_DELAY) timer = setTimeout(wake, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  /** Wakes everyone whose token the new generation has passed. */
  notify(gen: number): void {
    for (const w of [...this.#waiters]) if (gen > w.since) w.wake();
  }

  failAll(e: Error): void {
    for (const w of [...this.#waiters]) w.fail(e);
  }
}
