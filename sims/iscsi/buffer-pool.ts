/**
 * @module
 * The buffers one connection of the simulated target lends to its commands: READ data
 * (taken back once the socket has written the answer) and the data of writes (taken back
 * once the store has written it). Serving a LUN is a stream of large transfers (qemu-img
 * moves 2 MiB at a time). A new buffer for each one is memory the kernel maps and faults
 * in again, and, worse, external memory: every 64 MiB of it makes V8 start a full
 * collection, and with ArrayBuffers freed lazily the collections followed one another
 * (a qemu-img write of 1 GiB spent seconds in almost 200 of them). Reusing a few buffers
 * per size avoids both. Buffers come in power-of-two sizes from 64 KiB; only a bounded
 * number of bytes is kept free, so a burst of large transfers does not pin memory for the
 * connection's life.
 */

const MIN_CLASS = 64 * 1024;
/** Free buffers kept per size, and free bytes kept in all. */
const KEEP = 8;
const KEEP_BYTES = 32 * 1024 * 1024;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;
  /** Each loan (the view `take` returned), so that `release` takes back only its own, once. */
  private readonly lent = new WeakSet<Buffer>();

  /** A buffer of exactly `length` bytes (a view of a pooled one; contents undefined). */
  take(length: number): Buffer {
    let size = MIN_CLASS;
    while (size < length) size *= 2;
    let whole = this.free.get(size)?.pop();
    if (whole) this.freeBytes -= size;
    else whole = Buffer.allocUnsafeSlow(size);
    const view = whole.subarray(0, length);
    this.lent.add(view);
    return view;
  }

  /** Gives back a buffer `take` returned; anything else, or a second release, is ignored. */
  release(view: Buffer): void {
    if (!this.lent.has(view)) return;
    this.lent.delete(view);
    const memory = view.buffer;
    const size = memory.byteLength;
    const list = this.free.get(size) ?? [];
    if (list.length >= KEEP || this.freeBytes + size > KEEP_BYTES) return;
    list.push(Buffer.from(memory, 0, size));
    this.free.set(size, list);
    this.freeBytes += size;
  }
}
