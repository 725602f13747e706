/**
 * @module
 * A disk read in order with a few large reads in flight, for the streaming exports (raw,
 * VHD, XVA). Reading one chunk, then sending it, then reading the next leaves the disk idle
 * while the socket drains and the socket idle while the disk reads; here the reads run
 * ahead of the consumer by `ahead` chunks. Ranges the disk reports as zeroes are not read:
 * they come out as pieces without data. Read buffers are recycled: the consumer calls
 * `release()` once it no longer needs a piece's bytes (after the socket took them), and
 * until then that buffer is not reused. A consumer that never releases only costs fresh
 * allocations.
 */
/** What is read: a disk's size, its zero ranges and its bytes (a `BlockDevice` is one). */
export interface ReadableDisk {
  readonly size: number;
  read(offset: number, length: number, into?: Buffer): Promise<Buffer>;
  blockStatus(offset: number, length: number): Promise<ReadonlyArray<{ offset: number; length: number; zero: boolean }>>;
}

/** Block status is asked for in windows, so a huge sparse disk never yields one huge list. */
const WINDOW = 1024 * 1024 * 1024;

export interface DiskPiece {
  readonly offset: number;
  readonly length: number;
  /** The bytes; absent for a range the disk reports as zeroes. */
  readonly data?: Buffer;
  /** Gives the piece's buffer back for later reads. */
  release(): void;
}

export interface ReadAheadOptions {
  /** Largest read, and the alignment reads are split at (default 4 MiB). */
  readonly chunk?: number;
  /** Reads in flight ahead of the consumer (default 3). */
  readonly ahead?: number;
  readonly signal?: AbortSignal;
  /**
   * The ranges to read, ascending and disjoint; default: the whole disk, its zero ranges
   * given as pieces without data.
   */
  readonly ranges?: Iterable<{ offset: number; length: number }> | AsyncIterable<{ offset: number; length: number }>;
}

interface Span { offset: number; length: number; zero: boolean }

/** The disk's extents, data ones cut at multiples of `chunk`. */
async function* wholeDisk(dev: ReadableDisk): AsyncGenerator<Span> {
  for (let w = 0; w < dev.size; w += WINDOW) {
    for (const e of await dev.blockStatus(w, Math.min(WINDOW, dev.size - w))) yield { offset: e.offset, length: e.length, zero: e.zero };
  }
}

async function* given(ranges: NonNullable<ReadAheadOptions['ranges']>): AsyncGenerator<Span> {
  for await (const r of ranges) yield { ...r, zero: false };
}

async function* cut(spans: AsyncIterable<Span>, chunk: number): AsyncGenerator<Span> {
  for await (const s of spans) {
    if (s.zero) {
      if (s.length > 0) yield s;
      continue;
    }
    for (let p = s.offset; p < s.offset + s.length;) {
      const end = Math.min(s.offset + s.length, (Math.floor(p / chunk) + 1) * chunk);
      yield { offset: p, length: end - p, zero: false };
      p = end;
    }
  }
}

/** The disk's pieces in order, read `ahead` chunks ahead of the consumer. */
export async function* readAhead(dev: ReadableDisk, o: ReadAheadOptions = {}): AsyncGenerator<DiskPiece> {
  const chunk = o.chunk ?? 4 * 1024 * 1024;
  const ahead = Math.max(1, o.ahead ?? 3);
  const free: Buffer[] = [];
  const spans = cut(o.ranges ? given(o.ranges) : wholeDisk(dev), chunk);
  const queue: Promise<DiskPiece>[] = [];
  let ended = false;
  const start = async (): Promise<void> => {
    while (!ended && queue.length < ahead) {
      const r = await spans.next();
      if (r.done) {
        ended = true;
        return;
      }
      const s = r.value;
      if (s.zero) {
        queue.push(Promise.resolve({ offset: s.offset, length: s.length, release: () => undefined }));
        continue;
      }
      const buf = free.pop() ?? Buffer.allocUnsafeSlow(chunk);
      let given = false;
      const p = dev.read(s.offset, s.length, buf).then((data) => ({
        offset: s.offset, length: s.length, data,
        release: () => {
          if (given) return;
          given = true;
          free.push(buf);
        },
      }));
      p.catch(() => undefined); // surfaces when the consumer reaches it
      queue.push(p);
    }
  };
  try {
    await start();
    while (queue.length) {
      o.signal?.throwIfAborted();
      const piece = await queue.shift()!;
      await start();
      yield piece;
    }
  } finally {
    // Let reads still running finish before their buffers can be collected or the device closed.
    await Promise.allSettled(queue);
  }
}
