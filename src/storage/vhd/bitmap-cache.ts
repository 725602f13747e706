/**
 * @module
 * The sector bitmaps of one open VHD as reads and writes see them: one canonical buffer per
 * block, so that a bit a write sets is seen by every later read at once, and the writes of
 * those bitmaps to the file. A write sets its bits once its data is in the file and resolves
 * once the bitmap is too, so another process reading the file sees what was written, as
 * with tapdisk. The bitmap writes of one block asked for during one event-loop turn go out
 * as one write (a sequential writer has several requests in each block), and those of one
 * block never overtake each other.
 *
 * Bitmaps held by a writer or being written stay in memory; the others are cached
 * least-recently-used, since a 2 TiB disk has a million of them.
 */
import { LruMap } from './lru-map.js';

type WriteBitmap = (bm: Buffer) => Promise<void>;

interface Queued {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
  write: WriteBitmap;
}

interface Held {
  bm: Buffer;
  /** Writers between `hold` and `release`, plus one per queued or running bitmap write. */
  pins: number;
  /** A bitmap write asked for this turn, not started yet. */
  queued: Queued | undefined;
  /** The last bitmap write started, until it settles. */
  running: Promise<void> | undefined;
}

export class BitmapCache {
  private readonly clean: LruMap<number, Buffer>;
  private readonly held = new Map<number, Held>();
  private readonly loading = new Map<number, Promise<Buffer>>();
  private batch: number[] = [];
  private readonly startBatch = (): void => this.writeBatch();

  constructor(capacity: number) {
    this.clean = new LruMap(capacity);
  }

  /** The block's bitmap if it is in memory. */
  peek(block: number): Buffer | undefined {
    return this.held.get(block)?.bm ?? this.clean.get(block);
  }

  /** The block's bitmap, read with `load` when it is not in memory (one read per block at a time). */
  async get(block: number, load: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.peek(block);
    if (hit) return hit;
    let p = this.loading.get(block);
    if (!p) {
      // The entry goes in the same step as the answer (no promise more per bitmap: opening a
      // deep chain loads thousands). The handlers run later than the `set` below.
      p = load().then(
        (bm) => {
          this.loading.delete(block);
          // Installed meanwhile by an allocation: that copy is the canonical one.
          const raced = this.peek(block);
          if (raced) return raced;
          this.clean.set(block, bm);
          return bm;
        },
        (e: unknown) => {
          this.loading.delete(block);
          throw e;
        },
      );
      this.loading.set(block, p);
    }
    return p;
  }

  /** Makes `bm` the block's bitmap (a newly allocated block, whose bitmap is on disk already). */
  install(block: number, bm: Buffer): void {
    this.clean.set(block, bm);
  }

  /** Keeps the block's bitmap in memory until `release`; call only when `peek` finds it. */
  hold(block: number): Buffer {
    let h = this.held.get(block);
    if (!h) {
      const bm = this.clean.get(block);
      if (!bm) throw new Error(`bitmap of block ${block} is not in memory`);
      this.clean.delete(block);
      this.held.set(block, (h = { bm, pins: 0, queued: undefined, running: undefined }));
    }
    h.pins++;
    return h.bm;
  }

  release(block: number): void {
    const h = this.held.get(block)!;
    if (--h.pins > 0 || h.queued || h.running) return;
    this.held.delete(block);
    this.clean.set(block, h.bm);
  }

  /**
   * Resolves once the held bitmap of `block`, as it is in memory now, is in the file
   * (`write` puts a copy there). Requests of one turn share one write.
   */
  persist(block: number, write: WriteBitmap): Promise<void> {
    const h = this.held.get(block)!;
    if (h.queued) return h.queued.promise;
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    h.queued = { promise, resolve, reject, write };
    h.pins++;
    if (this.batch.push(block) === 1) setImmediate(this.startBatch);
    return promise;
  }

  /** Resolves once no write of the held bitmap of `block` asked for so far is pending. */
  persisted(block: number): Promise<void> {
    const h = this.held.get(block)!;
    return h.queued?.promise ?? h.running ?? Promise.resolve();
  }

  /** Forgets everything (the file is closing); bitmap writes not started fail. */
  clear(): void {
    for (const h of this.held.values()) h.queued?.reject(Object.assign(new Error('VHD closed before its bitmap was written'), { code: 'CLOSED' }));
    this.clean.clear();
    this.held.clear();
    this.batch = [];
  }

  private writeBatch(): void {
    const blocks = this.batch;
    this.batch = [];
    for (const block of blocks) {
      const h = this.held.get(block);
      const q = h?.queued;
      if (!h || !q) continue; // cleared by close meanwhile
      h.queued = undefined;
      const copy = Buffer.from(h.bm);
      // After the previous write of this block, whatever became of it: never older over newer.
      const prev = h.running?.catch(() => undefined) ?? Promise.resolve();
      const run = prev.then(() => q.write(copy));
      h.running = run;
      run.then(q.resolve, q.reject).finally(() => {
        if (h.running === run) h.running = undefined;
        if (this.held.get(block) === h) this.release(block);
      });
    }
  }
}
