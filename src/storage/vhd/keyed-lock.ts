/**
 * @module
 * Per-key asynchronous mutual exclusion. Concurrent NBD requests may touch the same VHD block;
 * allocating it or updating its bitmap must happen once and in order, while requests on other
 * blocks proceed in parallel.
 */

export class KeyedLock {
  private readonly tails = new Map<number, Promise<void>>();

  async run<T>(key: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
