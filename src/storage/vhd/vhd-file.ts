/**
 * @module
 * One VHD file (fixed, dynamic or differencing), validated on open, with reads that say which
 * sectors this file holds, thin writes, block status, and the metadata rewrites the SR layer
 * needs (grow, re-parent, hide). It knows nothing of its parents: `VhdChain` stacks files.
 * Offsets and lengths are bytes and must be whole sectors here; the chain accepts any bytes.
 */
import type { DynamicHeader } from './dynamic-header.js';
import { check } from './errors.js';
import { DiskType, type Footer } from './footer.js';
import { UNUSED_BAT_ENTRY } from './bat.js';
import { writeSectors } from './block-writer.js';
import { loadBitmaps, mapSectors, mapSectorsCached, type SectorRun } from './sector-map.js';
import { parentLocatorPaths, resize, setFooterFields, setParent } from './vhd-metadata.js';
import { openState } from './vhd-open.js';
import { assertOpen, assertWritable, readFully, type VhdState } from './vhd-state.js';
import { uuidToBytes } from './uuid-bytes.js';

export interface OpenOptions {
  readOnly?: boolean;
}

export interface WriteOptions {
  /** Store every sector written, zeros included (no zero detection). */
  allocate?: boolean;
}

/** A byte range that is stored (`allocated`) or not in the file or chain asked. */
export interface Extent {
  offset: number;
  length: number;
  allocated: boolean;
}

/** A byte range of the disk and where this file stores it (`fileOffset` null: not here). */
export interface MappedRange {
  offset: number;
  length: number;
  fileOffset: number | null;
}

export function runsToExtents(runs: SectorRun[]): Extent[] {
  return runs.map((r) => ({ offset: r.sector * 512, length: r.count * 512, allocated: r.fileOffset !== null }));
}

export class VhdFile {
  private constructor(private readonly st: VhdState) {}

  static async open(path: string, opts: OpenOptions = {}): Promise<VhdFile> {
    return new VhdFile(await openState(path, opts.readOnly ?? false));
  }

  get path(): string {
    return this.st.path;
  }
  get readOnly(): boolean {
    return this.st.readOnly;
  }
  get footer(): Readonly<Footer> {
    return this.st.footer;
  }
  get header(): Readonly<DynamicHeader> | null {
    return this.st.header;
  }
  get size(): number {
    return this.st.footer.currentSize;
  }
  get diskType(): DiskType {
    return this.st.footer.diskType;
  }
  get uuid(): string {
    return this.st.footer.uuid;
  }
  get isDifferencing(): boolean {
    return this.st.footer.diskType === DiskType.Differencing;
  }
  /** The UUID the parent's footer must carry; null unless differencing. */
  get parentUuid(): string | null {
    return this.isDifferencing ? this.st.header!.parentUuid : null;
  }
  get hidden(): boolean {
    return this.st.footer.hidden !== 0;
  }
  /** Block size of dynamic/differencing disks; fixed disks report 2 MiB for chunking. */
  get blockSize(): number {
    return this.st.header?.blockSize ?? 2 * 1024 * 1024;
  }

  /** The open file's identity, `device:inode`: the same for every opening of this file. */
  async fileKey(): Promise<string> {
    assertOpen(this.st);
    const s = await this.st.fh.stat();
    return `${s.dev}:${s.ino}`;
  }

  private checkRange(offset: number, length: number): void {
    assertOpen(this.st);
    check(
      Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset % 512 === 0 && length % 512 === 0,
      'UNALIGNED',
      `range ${offset}+${length} is not whole sectors`,
      this.st.path,
    );
    check(offset >= 0 && length >= 0 && offset + length <= this.size, 'OUT_OF_BOUNDS', `range ${offset}+${length} beyond ${this.size}`, this.st.path);
  }

  /** Where this file stores each part of the range (sector-aligned; past the end: not here). */
  async map(offset: number, length: number): Promise<MappedRange[]> {
    assertOpen(this.st);
    check(offset % 512 === 0 && length % 512 === 0 && offset >= 0 && length >= 0, 'UNALIGNED', `range ${offset}+${length}`, this.st.path);
    const runs = await mapSectors(this.st, offset / 512, length / 512);
    return runs.map((r) => ({ offset: r.sector * 512, length: r.count * 512, fileOffset: r.fileOffset }));
  }

  /**
   * Where this file stores each sector of `[sector, sector+count)`, as maximal runs (past the
   * end: not here). Synchronous when the bitmaps needed are in memory, as they usually are.
   */
  sectorRuns(sector: number, count: number): SectorRun[] | Promise<SectorRun[]> {
    assertOpen(this.st);
    return mapSectorsCached(this.st, sector, count) ?? mapSectors(this.st, sector, count);
  }

  /**
   * Has the bitmaps `sectorRuns` needs for the range read into memory, without mapping
   * anything; undefined when they are there already.
   */
  loadBitmaps(sector: number, count: number): Promise<unknown> | undefined {
    assertOpen(this.st);
    return loadBitmaps(this.st, sector, count);
  }

  /** Reads `length` stored bytes at `fileOffset` (from `sectorRuns`) into `out` at `outOffset`. */
  readStored(fileOffset: number, out: Buffer, outOffset: number, length: number): Promise<void> {
    assertOpen(this.st);
    return readFully(this.st.fh, out, outOffset, length, fileOffset);
  }

  /** Copies a mapped range's bytes into `out` at `outOffset`. */
  async readMapped(range: MappedRange, out: Buffer, outOffset: number): Promise<void> {
    assertOpen(this.st);
    if (range.fileOffset === null) out.fill(0, outOffset, outOffset + range.length);
    else await readFully(this.st.fh, out, outOffset, range.length, range.fileOffset);
  }

  /**
   * This file's own data for the range: sectors it does not store read as zeros and have
   * `present[i] === 0` (i counts sectors from `offset`).
   */
  async read(offset: number, length: number): Promise<{ data: Buffer; present: Uint8Array }> {
    this.checkRange(offset, length);
    const data = Buffer.allocUnsafe(length);
    const present = new Uint8Array(length / 512);
    const ranges = await this.map(offset, length);
    await Promise.all(
      ranges.map((r) => {
        if (r.fileOffset !== null) present.fill(1, (r.offset - offset) / 512, (r.offset - offset + r.length) / 512);
        return this.readMapped(r, data, r.offset - offset);
      }),
    );
    return { data, present };
  }

  /**
   * Writes whole sectors. On a disk without parent, zeros that would land on sectors not
   * stored are skipped (they read as zeros already) unless `allocate` is set.
   */
  async write(offset: number, data: Uint8Array, opts: WriteOptions = {}): Promise<void> {
    this.checkRange(offset, data.length);
    assertWritable(this.st);
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
    await writeSectors(this.st, offset / 512, buf, opts.allocate ?? false);
  }

  /** Which parts of the range this file stores, sector-precise, as merged extents. */
  async blockStatus(offset: number, length: number): Promise<Extent[]> {
    this.checkRange(offset, length);
    return runsToExtents(await mapSectors(this.st, offset / 512, length / 512));
  }

  /** Indices of the blocks present in the BAT (every block of a fixed disk). */
  allocatedBlocks(): number[] {
    assertOpen(this.st);
    const out: number[] = [];
    if (!this.st.bat) {
      for (let b = 0; b < Math.ceil(this.size / this.blockSize); b++) out.push(b);
      return out;
    }
    const n = Math.ceil(this.size / this.blockSize);
    for (let b = 0; b < n; b++) if (this.st.bat[b] !== UNUSED_BAT_ENTRY) out.push(b);
    return out;
  }

  /** Decoded parent locator paths, best first (relative ones are relative to this file's directory). */
  async parentLocatorPaths(): Promise<string[]> {
    assertOpen(this.st);
    return parentLocatorPaths(this.st);
  }

  /** Grows the virtual size (the BAT moves to the end of the file when its padding is full). */
  async resize(newSize: number): Promise<void> {
    await resize(this.st, newSize);
  }

  /** Points this differencing disk at `parentPath`: locators, parent UUID, timestamp, name. */
  async setParent(parentPath: string): Promise<void> {
    await setParent(this.st, parentPath);
  }

  /** Sets blktap's hidden flag (footer byte 85) in both footers. */
  async setHidden(hidden: boolean): Promise<void> {
    await setFooterFields(this.st, { hidden: hidden ? 1 : 0 });
  }

  async setUuid(uuid: string): Promise<void> {
    uuidToBytes(uuid);
    await setFooterFields(this.st, { uuid });
  }

  async flush(): Promise<void> {
    assertOpen(this.st);
    if (!this.st.readOnly) await this.st.fh.datasync();
  }

  async close(): Promise<void> {
    if (this.st.closed) return;
    this.st.closed = true;
    this.st.bitmaps.clear();
    await this.st.fh.close();
  }
}
