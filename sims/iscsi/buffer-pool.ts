/**
 * @module
 * Read buffers the simulated target lends to READ commands and takes back once the socket
 * has written the answer. Serving a LUN is a stream of large reads (qemu-img asks 2 MiB at
 * a time): a new buffer for each one is memory the kernel must map and fault in, and
 * external memory that drives V8 into frequent full collections; reusing a few buffers per
 * size avoids both. Buffers come in power-of-two sizes from 64 KiB; only a bounded number
 * of each is kept, so a burst of large reads does not pin memory for the connection's life.
 */

const MIN_CLASS = 64 * 1024;
/** Free buffers kept per size. */
const KEEP = 8;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  /** Each loan (the view `take` returned), so that `release` takes back only its own, once. */
  private readonly lent = new WeakSet<Buffer>();

  /** A buffer of exactly `length` bytes (a view of a pooled one; contents undefined). */
  take(length: number): Buffer {
    let size = MIN_CLASS;
    while (size < length) size *= 2;
    const whole = this.free.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size);
    const view = whole.subarray(0, length);
    this.lent.add(view);
    return view;
  }

  /** Gives back a buffer `take` returned; anything else, or a second release, is ignored. */
  release(view: Buffer): void {
    if (!this.lent.has(view)) return;
    this.lent.delete(view);
    const memory = view.buffer;
    const whole = Buffer.from(memory, 0, memory.byteLength);
    const list = this.free.get(whole.length) ?? [];
    if (list.length < KEEP) list.push(whole);
    this.free.set(whole.length, list);
  }
}
