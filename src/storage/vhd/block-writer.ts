/**
 * @module
 * Thin writes. The first write to a block appends it at the end of the used area with its
 * data region aligned to 4 KiB (as tapdisk does) and writes only the bitmap and the touched
 * sectors: the rest of the region stays a hole in the host file, and its bitmap bits stay 0 so
 * reads fall through to the parent. On a disk without parent, zeros over sectors that read as
 * zeros anyway are not written at all, so copying or coalescing zero runs allocates nothing.
 *
 * Order on disk, so a crash leaves a readable file: footer at the new end first, then data,
 * then bitmap, then the BAT entry that makes the block visible.
 */
import { batEntryBytes, UNUSED_BAT_ENTRY } from './bat.js';
import { allBitsSet, anyBitSet, setBits } from './bitmap.js';
import { VhdError } from './errors.js';
import { DiskType } from './footer.js';
import { ensureFooterAt, readBitmap, writeFully, type VhdState } from './vhd-state.js';

const PAGE = 4096;
/** Zero detection granule: 8 sectors, the host page the data region is aligned to. */
const GRANULE = 8;
const ZEROS = Buffer.alloc(GRANULE * 512);

interface Run {
  start: number;
  count: number;
}

function isZero(buf: Buffer): boolean {
  return buf.equals(ZEROS.subarray(0, buf.length));
}

/**
 * The sector runs of a block write that must reach the disk. On a root dynamic disk a zero
 * granule can be skipped when none of its sectors is stored (it reads as zeros already).
 */
function runsToWrite(st: VhdState, chunk: Buffer, inBlock: number, bm: Buffer | null, allocate: boolean): Run[] {
  const count = chunk.length / 512;
  if (allocate || st.footer.diskType !== DiskType.Dynamic) return [{ start: inBlock, count }];
  const runs: Run[] = [];
  for (let s = inBlock; s < inBlock + count; ) {
    const end = Math.min(inBlock + count, (Math.floor(s / GRANULE) + 1) * GRANULE);
    const data = chunk.subarray((s - inBlock) * 512, (end - inBlock) * 512);
    if (!isZero(data) || (bm !== null && anyBitSet(bm, s, end - s))) {
      const last = runs[runs.length - 1];
      if (last && last.start + last.count === s) last.count += end - s;
      else runs.push({ start: s, count: end - s });
    }
    s = end;
  }
  return runs;
}

function slice(chunk: Buffer, inBlock: number, r: Run): Buffer {
  return chunk.subarray((r.start - inBlock) * 512, (r.start - inBlock + r.count) * 512);
}

/** Reserves the region of a new block after the used area; returns its bitmap offset. */
async function reserveBlock(st: VhdState): Promise<number> {
  return st.metaLock.run(0, async () => {
    const pos = Math.ceil((st.dataEnd + st.bitmapBytes) / PAGE) * PAGE - st.bitmapBytes;
    if (pos / 512 >= UNUSED_BAT_ENTRY) {
      throw new VhdError('FILE_TOO_LARGE', 'no room for another block below 2 TiB', st.path);
    }
    const end = pos + st.bitmapBytes + st.header!.blockSize;
    await ensureFooterAt(st, end);
    st.dataEnd = end;
    return pos;
  });
}

async function allocateBlock(st: VhdState, block: number, inBlock: number, chunk: Buffer, runs: Run[]): Promise<void> {
  const pos = await reserveBlock(st);
  const bm = Buffer.alloc(st.bitmapBytes);
  for (const r of runs) setBits(bm, r.start, r.count);
  const dataAt = pos + st.bitmapBytes;
  // A run at the block's start is contiguous with the bitmap: one write for both.
  const writes = runs.map((r) =>
    r.start === 0
      ? writeFully(st.fh, Buffer.concat([bm, slice(chunk, inBlock, r)]), pos)
      : writeFully(st.fh, slice(chunk, inBlock, r), dataAt + r.start * 512),
  );
  if (runs[0]!.start !== 0) writes.push(writeFully(st.fh, bm, pos));
  await Promise.all(writes);
  st.bitmaps.set(block, bm);
  // Under the metadata lock: a concurrent resize may be moving the BAT.
  await st.metaLock.run(0, async () => {
    st.bat![block] = pos / 512;
    await writeFully(st.fh, batEntryBytes(pos / 512), st.header!.tableOffset + block * 4);
  });
}

async function writeBlock(st: VhdState, block: number, inBlock: number, chunk: Buffer, allocate: boolean): Promise<void> {
  await st.blockLocks.run(block, async () => {
    const entry = st.bat![block]!;
    const bm = entry === UNUSED_BAT_ENTRY ? null : await readBitmap(st, block);
    const runs = runsToWrite(st, chunk, inBlock, bm, allocate);
    if (runs.length === 0) return;
    if (bm === null) return allocateBlock(st, block, inBlock, chunk, runs);
    const dataAt = entry * 512 + st.bitmapBytes;
    await Promise.all(runs.map((r) => writeFully(st.fh, slice(chunk, inBlock, r), dataAt + r.start * 512)));
    if (runs.every((r) => allBitsSet(bm, r.start, r.count))) return;
    for (const r of runs) setBits(bm, r.start, r.count);
    st.bitmaps.set(block, bm);
    await writeFully(st.fh, bm, entry * 512);
  });
}

/**
 * Writes whole sectors at `sector`; the caller has checked bounds and alignment. `allocate`
 * turns zero detection off, for callers that want the space taken (NBD's NO_HOLE).
 */
export async function writeSectors(st: VhdState, sector: number, data: Buffer, allocate = false): Promise<void> {
  if (!st.bat) return writeFully(st.fh, data, sector * 512);
  const spb = st.sectorsPerBlock;
  const count = data.length / 512;
  const writes: Promise<void>[] = [];
  for (let s = sector; s < sector + count; ) {
    const block = Math.floor(s / spb);
    const inBlock = s - block * spb;
    const n = Math.min(spb - inBlock, sector + count - s);
    writes.push(writeBlock(st, block, inBlock, data.subarray((s - sector) * 512, (s - sector + n) * 512), allocate));
    s += n;
  }
  await Promise.all(writes);
}
