/**
 * @module
 * Recycles READ reply and WRITE payload buffers within a connection. Large `Buffer.allocUnsafe` calls each
 * get their own backing store, which at gigabytes per second means constant allocation
 * and GC of external memory; reusing power-of-two slabs once the socket has taken the
 * bytes keeps that off the hot path. Sizes above the largest class are not pooled.
 */

const MIN_CLASS = 64 * 1024;
const MAX_CLASS = 32 * 1024 * 1024;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  /** Slabs this pool made: anything else handed to `put` is not ours to recycle. */
  private readonly own = new WeakSet<ArrayBufferLike>();
  private readonly idle = new Set<ArrayBufferLike>();
  private retained = 0;

  constructor(private readonly maxRetained = 32 * 1024 * 1024) {}

  /** A buffer of exactly `len` bytes (uninitialised), carved from a pooled slab. */
  get(len: number): Buffer {
    const cls = classOf(len);
    if (cls === 0) return Buffer.allocUnsafe(len);
    const list = this.free.get(cls);
    const slab = list?.pop();
    if (slab) {
      this.idle.delete(slab.buffer);
      this.retained -= cls;
      return slab.subarray(0, len);
    }
    const fresh = Buffer.allocUnsafeSlow(cls);
    this.own.add(fresh.buffer);
    return fresh.subarray(0, len);
  }

  /** Gives back a buffer from `get` (others are ignored); the caller must not touch it afterwards. */
  put(buf: Buffer): void {
    const ab = buf.buffer;
    const cls = ab.byteLength;
    if (!this.own.has(ab) || this.idle.has(ab) || this.retained + cls > this.maxRetained) return;
    this.idle.add(ab);
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(Buffer.from(ab, 0, cls));
    this.retained += cls;
  }
}

function classOf(len: number): number {
  if (len > MAX_CLASS) return 0;
  let c = MIN_CLASS;
  while (c < len) c *= 2;
  return c;
}
