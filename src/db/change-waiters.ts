/**
 * @module
 * Parked `event.from` callers. Each waits for the generation to pass its token; a commit
 * wakes exactly the ones it satisfies, so nobody polls. A waiter also leaves on its timeout
 * or when its caller aborts, and all of them leave when the database closes.
 */

interface Waiter {
  readonly since: number;
  readonly wake: () => void;
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
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = (): void => {
        if (!this.#waiters.delete(waiter)) return;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      const waiter: Waiter = { since, wake };
      this.#waiters.add(waiter);
      if (Number.isFinite(timeoutMs) && timeoutMs <= MAX_DELAY) timer = setTimeout(wake, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  /** Wakes everyone whose token the new generation has passed. */
  notify(gen: number): void {
    for (const w of [...this.#waiters]) if (gen > w.since) w.wake();
  }

  wakeAll(): void {
    for (const w of [...this.#waiters]) w.wake();
  }
}
