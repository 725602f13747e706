/**
 * @module
 * The physical side of the array store: fixed-size blocks in one sparse data file, each
 * with a reference count. A block is allocated when a LUN first writes it (or copies it on
 * write), shared by every clone or snapshot whose map points at it, and freed when the last
 * reference goes. Freed blocks are reused before the file grows, and their bytes are
 * zeroed on reuse by the writer, never read as stale data. Used space is the number of
 * live blocks: what was really written, as an array reports it.
 *
 * Freeing is deferred while reads are in flight, so a read that looked a block up just
 * before an unmap never sees the block reused by another LUN underneath it.
 */
import { open, type FileHandle } from 'node:fs/promises';

export class BlockPool {
  private refs = new Uint32Array(1024);
  private highWater = 0;
  private free: number[] = [];
  private pendingFree: number[] = [];
  private readers = 0;
  private live = 0;

  private constructor(private readonly file: FileHandle, readonly blockSize: number) {}

  static async open(path: string, blockSize: number): Promise<BlockPool> {
    const file = await open(path, 'a+').then(async (h) => {
      await h.close();
      return open(path, 'r+');
    });
    return new BlockPool(file, blockSize);
  }

  /** Rebuilds counts from the maps that reference blocks (after loading metadata). */
  rebuild(referenced: Iterable<number>): void {
    this.refs = new Uint32Array(1024);
    this.highWater = 0;
    this.live = 0;
    for (const b of referenced) {
      this.ensure(b + 1);
      if (this.refs[b] === 0) this.live++;
      this.refs[b] = this.refs[b]! + 1;
      if (b + 1 > this.highWater) this.highWater = b + 1;
    }
    this.free = [];
    for (let b = this.highWater - 1; b >= 0; b--) if (this.refs[b] === 0) this.free.push(b);
  }

  /** One past the highest block number ever allocated: every block number is below it. */
  get extent(): number {
    return this.highWater;
  }

  /** Blocks holding data for at least one map. */
  get liveBlocks(): number {
    return this.live;
  }

  refCount(block: number): number {
    return this.refs[block] ?? 0;
  }

  allocate(): number {
    const b = this.free.pop() ?? this.highWater++;
    this.ensure(b + 1);
    this.refs[b] = 1;
    this.live++;
    return b;
  }

  ref(block: number): void {
    this.refs[block] = this.refs[block]! + 1;
  }

  unref(block: number): void {
    const n = this.refs[block]!;
    if (n === 0) throw new Error(`block ${block} released more often than referenced`);
    this.refs[block] = n - 1;
    if (n === 1) {
      this.live--;
      if (this.readers > 0) this.pendingFree.push(block);
      else this.free.push(block);
    }
  }

  /** Reads part of a block; callers hold `beginRead()` so the block is not reused meanwhile. */
  async readBlock(block: number, into: Buffer, at: number, within: number, length: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.file.read(into, at + done, length - done, block * this.blockSize + within + done);
      if (bytesRead === 0) {
        into.fill(0, at + done, at + length); // past the end of a sparse file: zeros
        break;
      }
      done += bytesRead;
    }
  }

  /** Pins blocks for the duration of a read so they cannot be reused underneath it. */
  beginRead(): void {
    this.readers++;
  }

  endRead(): void {
    if (--this.readers === 0 && this.pendingFree.length > 0) {
      this.free.push(...this.pendingFree);
      this.pendingFree = [];
    }
  }

  async writeBlock(block: number, data: Buffer, within = 0): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.file.write(data, done, data.length - done, block * this.blockSize + within + done);
      done += bytesWritten;
    }
  }

  async sync(): Promise<void> {
    await this.file.datasync();
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  private ensure(n: number): void {
    if (n <= this.refs.length) return;
    let len = this.refs.length;
    while (len < n) len *= 2;
    const next = new Uint32Array(len);
    next.set(this.refs);
    this.refs = next;
  }
}
