/**
 * @module
 * The reference `BlockDevice`: a plain raw image file, ideally sparse. It serves the NBD
 * tests and benchmark and is the yardstick the VHD adapter is compared with.
 *
 * Limits, stated plainly: Node cannot ask the filesystem where a file's holes are (no
 * SEEK_DATA/SEEK_HOLE, no FIEMAP) nor punch new ones (no fallocate). So allocation is
 * tracked per chunk by `AllocationMap`, learned from what is written and from reading
 * (a chunk that reads all zeroes is reported as a hole), and never deallocated:
 * `trim` is accepted and does nothing (its content is undefined by contract anyway), and
 * `writeZeroes` writes real zeroes except over chunks already known to be zero when the
 * caller allows holes. A file with no blocks allocated at open is known to be all zero.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { BlockDevice, Extent } from '../../core/ports/block-device.js';
import { WriteGatherer } from '../write-gatherer.js';
import { AllocationMap, ChunkState } from './allocation-map.js';

export interface FileBlockDeviceOptions {
  readOnly?: boolean;
  /** Bytes per allocation-tracking chunk (power of two ≥ 4096); grown for huge files. */
  granularity?: number;
}

const ZEROES = Buffer.alloc(1024 * 1024);
const MAX_CHUNKS = 1 << 24;
export class FileBlockDevice implements BlockDevice {
  readonly minBlockSize = 1;
  readonly preferredBlockSize = 4096;
  private closed = false;
  /** Writes issued during this event-loop turn, gathered into few `pwritev` calls. */
  private readonly gatherer = new WriteGatherer(() => this.fh.fd);

  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    readonly readOnly: boolean,
    private readonly map: AllocationMap,
  ) {}

  /** Serves an existing file; its current length is the device size. */
  static async open(path: string, opts: FileBlockDeviceOptions = {}): Promise<FileBlockDevice> {
    const readOnly = opts.readOnly === true;
    const fh = await open(path, readOnly ? 'r' : 'r+');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error(`${path} is not a regular file`);
      // No blocks at all: all holes. Every block allocated: no holes, nothing to learn.
      // Otherwise only reading tells which chunks are zero.
      const initial = st.blocks === 0 ? ChunkState.Zero : st.blocks * 512 >= st.size ? ChunkState.Data : ChunkState.Unknown;
      return new FileBlockDevice(fh, st.size, readOnly, new AllocationMap(st.size, granularityFor(st.size, opts.granularity), initial));
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Creates a new sparse file of `size` bytes (fails if it exists) and serves it. */
  static async create(path: string, size: number, opts: FileBlockDeviceOptions = {}): Promise<FileBlockDevice> {
    const fh = await open(path, 'wx');
    try {
      await fh.truncate(size);
    } finally {
      await fh.close();
    }
    return FileBlockDevice.open(path, { ...opts, readOnly: false });
  }

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    this.check(offset, length);
    const buf = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.fh.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) {
        buf.fill(0, got); // the file shrank under us: past its end reads as zeroes
        break;
      }
      got += bytesRead;
    }
    this.learn(offset, buf);
    return buf;
  }

  async write(offset: number, data: Buffer, opts: { fua?: boolean } = {}): Promise<void> {
    this.checkWritable(offset, data.length);
    if (data.length === 0) return;
    const end = this.map.beginWrite(offset, data.length);
    try {
      await this.gatherer.write(offset, data);
    } finally {
      end();
    }
    if (opts.fua) await this.fh.datasync();
  }

  async writeZeroes(offset: number, length: number, opts: { mayTrim?: boolean; fua?: boolean } = {}): Promise<void> {
    this.checkWritable(offset, length);
    if (length === 0) return;
    const mayTrim = opts.mayTrim !== false;
    // Finding out what is already zero costs a read, but zeroing it would allocate space.
    if (mayTrim) await this.classify(offset, length);
    const finish = this.map.beginZero(offset, length);
    let ok = false;
    try {
      for (const [s, e] of this.zeroRuns(offset, length, mayTrim)) {
        for (let p = s; p < e; p += ZEROES.length) await this.writeAll(ZEROES.subarray(0, Math.min(ZEROES.length, e - p)), p);
      }
      ok = true;
    } finally {
      finish(ok);
    }
    if (opts.fua) await this.fh.datasync();
  }

  async trim(offset: number, length: number): Promise<void> {
    this.checkWritable(offset, length); // no way to deallocate from Node: see the module note
  }

  async flush(): Promise<void> {
    if (!this.readOnly) await this.fh.datasync();
  }

  async blockStatus(offset: number, length: number): Promise<Extent[]> {
    this.check(offset, length);
    if (length === 0) return [];
    await this.classify(offset, length);
    return this.map.extents(offset, length);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  /** Reads the still-unknown chunks overlapping the range, to learn which are zero. */
  private async classify(offset: number, length: number): Promise<void> {
    const [a, b] = this.map.span(offset, length);
    const scratch = Buffer.allocUnsafe(Math.max(ZEROES.length, this.map.granularity));
    const perRead = scratch.length / this.map.granularity;
    for (let i = a; i <= b; ) {
      if (this.map.state(i) !== ChunkState.Unknown) { i++; continue; }
      let j = i;
      while (j < b && j - i + 1 < perRead && this.map.state(j + 1) === ChunkState.Unknown) j++;
      const start = this.map.chunkStart(i);
      await this.read(start, this.map.chunkEnd(j) - start, scratch);
      i = j + 1;
    }
  }

  /** Classifies the still-unknown chunks that `buf` (read at `offset`) covers whole. */
  private learn(offset: number, buf: Buffer): void {
    const g = this.map.granularity;
    const first = Math.ceil(offset / g);
    const end = offset + buf.length;
    for (let i = first; i < this.map.chunks && this.map.chunkEnd(i) <= end; i++) {
      if (this.map.state(i) !== ChunkState.Unknown) continue;
      const s = this.map.chunkStart(i) - offset;
      this.map.classify(i, isZero(buf.subarray(s, s + this.map.chunkEnd(i) - this.map.chunkStart(i))));
    }
  }

  /** Byte runs that must really be written to zero `[offset, offset+length)`. */
  private zeroRuns(offset: number, length: number, mayTrim: boolean): [number, number][] {
    const runs: [number, number][] = [];
    const end = offset + length;
    const [a, b] = this.map.span(offset, length);
    for (let i = a; i <= b; i++) {
      if (mayTrim && this.map.state(i) === ChunkState.Zero) continue;
      const s = Math.max(offset, this.map.chunkStart(i));
      const e = Math.min(end, this.map.chunkEnd(i));
      const last = runs[runs.length - 1];
      if (last && last[1] === s) last[1] = e;
      else runs.push([s, e]);
    }
    return runs;
  }

  private async writeAll(data: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }

  private check(offset: number, length: number): void {
    if (this.closed) throw new Error('device is closed');
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`range ${offset}+${length} is outside the ${this.size}-byte device`);
    }
  }

  private checkWritable(offset: number, length: number): void {
    this.check(offset, length);
    if (this.readOnly) throw Object.assign(new Error('device is read-only'), { code: 'EROFS' });
  }
}

function granularityFor(size: number, wanted = 64 * 1024): number {
  let g = Math.max(4096, 2 ** Math.ceil(Math.log2(wanted)));
  while (size / g > MAX_CHUNKS) g *= 2;
  return g;
}

function isZero(b: Buffer): boolean {
  for (let p = 0; p < b.length; p += ZEROES.length) {
    const n = Math.min(ZEROES.length, b.length - p);
    if (!b.subarray(p, p + n).equals(ZEROES.subarray(0, n))) return false;
  }
  return true;
}
