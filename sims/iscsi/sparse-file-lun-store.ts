/**
 * @module
 * A LUN backed by a sparse file. Node cannot punch holes itself, so an unmap of 256 KiB
 * or more runs util-linux `fallocate --punch-hole` on its 4 KiB-aligned interior (shorter
 * ones, the edges, and filesystems that refuse write zeroes instead), and allocation is tracked per chunk in memory: a chunk becomes mapped when written and
 * deallocated when unmapped whole; at open, a file with no blocks is all deallocated and
 * any other chunk is taken as mapped. A per-chunk write counter keeps an unmap that raced
 * with a write from marking that write's chunk deallocated.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { LunStore } from './lun-store.js';

const run = promisify(execFile);
const ZERO_CHUNK = Buffer.alloc(1024 * 1024);
/** Unmaps at least this long punch a hole in the file; shorter ones write zeroes. */
const PUNCH_THRESHOLD = 256 * 1024;

export interface SparseFileLunOptions {
  /** Creates (or grows) the file to this size; without it the file's size is the LUN's. */
  size?: number;
  blockSize?: 512 | 4096;
  thin?: boolean;
  serial?: string;
  naa?: string;
}

export class SparseFileLunStore implements LunStore {
  readonly blockSize: number;
  readonly thin: boolean;
  readonly serial: string;
  readonly naa?: string;
  private readonly granularity: number;
  /** 0 = mapped or unknown, 1 = deallocated. */
  private readonly deallocated: Uint8Array;
  private readonly writeCount: Uint32Array;

  private constructor(private readonly fh: FileHandle, readonly path: string, readonly size: number, opts: SparseFileLunOptions, empty: boolean) {
    this.blockSize = opts.blockSize ?? 512;
    this.thin = opts.thin ?? true;
    this.serial = opts.serial ?? createHash('sha256').update(path).digest('hex').slice(0, 12).toUpperCase();
    if (opts.naa) this.naa = opts.naa;
    let g = 64 * 1024;
    while (size / g > 1 << 22) g *= 2;
    this.granularity = g;
    const chunks = Math.ceil(size / g);
    this.deallocated = new Uint8Array(chunks).fill(empty ? 1 : 0);
    this.writeCount = new Uint32Array(chunks);
  }

  static async open(path: string, opts: SparseFileLunOptions = {}): Promise<SparseFileLunStore> {
    const abs = resolve(path);
    const fh = await open(abs, opts.size !== undefined ? 'a+' : 'r+').then(async (h) => {
      await h.close();
      return open(abs, 'r+');
    });
    try {
      let st = await fh.stat();
      if (opts.size !== undefined && st.size < opts.size) {
        await fh.truncate(opts.size);
        st = await fh.stat();
      }
      const bs = opts.blockSize ?? 512;
      if (st.size === 0 || st.size % bs !== 0) throw new Error(`${path}: size ${st.size} is not a positive multiple of ${bs}`);
      return new SparseFileLunStore(fh, abs, st.size, opts, st.blocks === 0);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    const buf = into && into.length === length ? into : Buffer.allocUnsafe(length);
    let at = 0;
    while (at < length) {
      const { bytesRead } = await this.fh.read(buf, at, length - at, offset + at);
      if (bytesRead === 0) {
        buf.fill(0, at);
        break;
      }
      at += bytesRead;
    }
    return buf;
  }

  async write(offset: number, data: Buffer): Promise<void> {
    this.touch(offset, data.length);
    let at = 0;
    while (at < data.length) {
      const { bytesWritten } = await this.fh.write(data, at, data.length - at, offset + at);
      at += bytesWritten;
    }
  }

  async unmap(offset: number, length: number): Promise<void> {
    if (length <= 0) return;
    const g = this.granularity;
    const first = Math.ceil(offset / g);
    const end = Math.floor((offset + length) / g);
    const before = this.writeCount.slice(first, Math.max(first, end));
    // Punching costs a process; small ranges are zeroed in place instead (a range whose
    // chunks are all known deallocated already reads as zeroes and needs nothing).
    const punchFrom = Math.ceil(offset / 4096) * 4096;
    const punchTo = Math.floor((offset + length) / 4096) * 4096;
    let punched = false;
    if (punchTo - punchFrom >= PUNCH_THRESHOLD) {
      try {
        await run('fallocate', ['--punch-hole', '--keep-size', '--offset', String(punchFrom), '--length', String(punchTo - punchFrom), this.path]);
        punched = true;
      } catch {
        punched = false;
      }
    }
    if (punched) {
      await this.zero(offset, punchFrom - offset);
      await this.zero(punchTo, offset + length - punchTo);
    } else if (!this.knownDeallocated(offset, length)) {
      await this.zero(offset, length);
    }
    for (let c = first; c < end; c++) if (this.writeCount[c] === before[c - first]) this.deallocated[c] = 1;
  }

  async flush(): Promise<void> {
    await this.fh.datasync();
  }

  async allocation(offset: number, length: number): Promise<{ offset: number; length: number; mapped: boolean }[]> {
    const out: { offset: number; length: number; mapped: boolean }[] = [];
    const g = this.granularity;
    let at = offset;
    const end = offset + length;
    while (at < end) {
      const c = Math.floor(at / g);
      const mapped = this.deallocated[c] === 0;
      const next = Math.min(end, (c + 1) * g);
      const last = out[out.length - 1];
      if (last && last.mapped === mapped) last.length += next - at;
      else out.push({ offset: at, length: next - at, mapped });
      at = next;
    }
    return out;
  }

  /** Bytes the backing file really occupies. */
  async allocatedBytes(): Promise<number> {
    return (await this.fh.stat()).blocks * 512;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  private async zero(offset: number, length: number): Promise<void> {
    for (let at = 0; at < length; at += ZERO_CHUNK.length) {
      const n = Math.min(ZERO_CHUNK.length, length - at);
      await this.fh.write(ZERO_CHUNK, 0, n, offset + at);
    }
  }

  private knownDeallocated(offset: number, length: number): boolean {
    const g = this.granularity;
    for (let c = Math.floor(offset / g); c * g < offset + length; c++) if (this.deallocated[c] !== 1) return false;
    return true;
  }

  private touch(offset: number, length: number): void {
    const g = this.granularity;
    for (let c = Math.floor(offset / g); c * g < offset + length; c++) {
      this.writeCount[c]!++;
      this.deallocated[c] = 0;
    }
  }
}
