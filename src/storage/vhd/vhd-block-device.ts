/**
 * @module
 * The `BlockDevice` port over a VHD chain, for the NBD server: byte-addressed reads and
 * writes (partial sectors merged through the chain), block status from the sector bitmaps
 * (a hole is a range no layer stores, and reads as zeros), and write-zeroes that touches only
 * what is stored, so zeroing never inflates a thin disk. The VHD library itself stays free of
 * toolstack imports; only this adapter knows the port.
 */
import type { BlockDevice, DeviceLayer, Extent } from '../../core/ports/block-device.js';
import { VhdError } from './errors.js';
import { VhdChain, type ChainOptions } from './vhd-chain.js';

const ZEROES = Buffer.alloc(1024 * 1024);

export class VhdBlockDevice implements BlockDevice {
  readonly minBlockSize = 1;
  readonly preferredBlockSize = 4096;
  private closed = false;

  constructor(readonly chain: VhdChain) {}

  /** Opens the chain ending at `leafPath` (its parents read-only). */
  static async open(leafPath: string, opts: ChainOptions = {}): Promise<VhdBlockDevice> {
    return new VhdBlockDevice(await VhdChain.open(leafPath, opts));
  }

  get size(): number {
    return this.chain.size;
  }
  get readOnly(): boolean {
    return this.chain.leaf.readOnly;
  }

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    this.check(offset, length);
    return this.chain.read(offset, length, into);
  }

  async write(offset: number, data: Buffer, opts: { fua?: boolean } = {}): Promise<void> {
    this.checkWritable(offset, data.length);
    await this.chain.write(offset, data);
    if (opts.fua) await this.chain.flush();
  }

  async writeZeroes(offset: number, length: number, opts: { mayTrim?: boolean; fua?: boolean } = {}): Promise<void> {
    this.checkWritable(offset, length);
    if (length === 0) return;
    // Holes already read as zeros; with NO_HOLE (mayTrim false) the space is taken anyway.
    const mayTrim = opts.mayTrim !== false;
    const ranges = mayTrim ? (await this.chain.blockStatus(offset, length)).filter((e) => e.allocated) : [{ offset, length }];
    for (const r of ranges) {
      for (let p = r.offset; p < r.offset + r.length; p += ZEROES.length) {
        const n = Math.min(ZEROES.length, r.offset + r.length - p);
        await this.chain.write(p, ZEROES.subarray(0, n), { allocate: !mayTrim });
      }
    }
    if (opts.fua) await this.chain.flush();
  }

  async trim(offset: number, length: number): Promise<void> {
    // VHD has no way to give sectors back short of a coalesce; the contract allows a no-op.
    this.checkWritable(offset, length);
  }

  async flush(): Promise<void> {
    if (!this.readOnly) await this.chain.flush();
  }

  async blockStatus(offset: number, length: number): Promise<Extent[]> {
    this.check(offset, length);
    if (length === 0) return [];
    const extents = await this.chain.blockStatus(offset, length);
    return extents.map((e) => ({ offset: e.offset, length: e.length, hole: !e.allocated, zero: !e.allocated }));
  }

  async layers(): Promise<readonly DeviceLayer[]> {
    if (this.closed) throw new VhdError('CLOSED', 'device is closed', this.chain.leaf.path);
    return this.chain.layerExtents();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain.close();
  }

  private check(offset: number, length: number): void {
    if (this.closed) throw new VhdError('CLOSED', 'device is closed', this.chain.leaf.path);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`range ${offset}+${length} is outside the ${this.size}-byte device`);
    }
  }

  private checkWritable(offset: number, length: number): void {
    this.check(offset, length);
    if (this.readOnly) throw Object.assign(new Error('device is read-only'), { code: 'EROFS' });
  }
}
