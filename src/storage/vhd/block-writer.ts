/**
 * @module
 * Thin writes. The first write to a block appends it at the end of the used area with its
 * data region aligned to 4 KiB (as tapdisk does) and an all-clear bitmap: the data region
 * stays a hole in the host file except where sectors are written, and sectors never written
 * fall through to the parent. On a disk without parent, zeros over sectors that read as
 * zeros anyway are not written at all, so copying or coalescing zero runs allocates nothing.
 *
 * Order on disk, so a crash leaves a readable file: the footer moves to the new end first,
 * then the block's clear bitmap, then the BAT entry that makes the block visible; then data,
 * then the bitmap with the written sectors' bits. Writes to one block run concurrently:
 * the allocation is done once, bits are set synchronously as each write's data lands, and
 * the bitmap writes of one block in one event-loop turn are one (`BitmapCache.persist`).
 * New blocks written whole take a shorter path, several at a time (`allocateWhole`).
 */
import { batEntryBytes, UNUSED_BAT_ENTRY } from './bat.js';
import { allBitsSet, anyBitSet, setBits } from './bitmap.js';
import { VhdError } from './errors.js';
import { DiskType } from './footer.js';
import { ensureFooterAt, readBitmap, settleAll, writeFully, type VhdState } from './vhd-state.js';

const PAGE = 4096;
/** Zero detection granule: 8 sectors, the host page the data region is aligned to. */
const GRANULE = 8;
const GRANULE_BYTES = GRANULE * 512;
const ZEROS = Buffer.alloc(GRANULE_BYTES);

interface Run {
  start: number;
  count: number;
}

/** Whether `buf[at, at+len)` is all zero, without allocating (most data fails on its first byte). */
function isZeroAt(buf: Buffer, at: number, len: number): boolean {
  if (buf[at] !== 0 || buf[at + len - 1] !== 0) return false;
  return ZEROS.compare(buf, at, at + len, 0, len) === 0;
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
    if (!isZeroAt(chunk, (s - inBlock) * 512, (end - s) * 512) || (bm !== null && anyBitSet(bm, s, end - s))) {
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

/** Appends a block with a clear bitmap and publishes it in the BAT (on disk, then in memory). */
function allocate(st: VhdState, block: number): Promise<void> {
  const running = st.allocations.get(block);
  if (running) return running;
  const work = st.metaLock.run(0, async () => {
    const pos = Math.ceil((st.dataEnd + st.bitmapBytes) / PAGE) * PAGE - st.bitmapBytes;
    if (pos / 512 >= UNUSED_BAT_ENTRY) {
      throw new VhdError('FILE_TOO_LARGE', 'no room for another block below 2 TiB', st.path);
    }
    const end = pos + st.bitmapBytes + st.header!.blockSize;
    await ensureFooterAt(st, end);
    st.dataEnd = end;
    // The region may hold leftovers of a block a crash kept out of the BAT: clear its bitmap
    // before the BAT points at it. Under the metadata lock: a resize may be moving the BAT.
    const bm = Buffer.alloc(st.bitmapBytes);
    await writeFully(st.fh, bm, pos);
    await writeFully(st.fh, batEntryBytes(pos / 512), st.header!.tableOffset + block * 4);
    st.bitmaps.install(block, bm);
    st.bat![block] = pos / 512;
  });
  st.allocations.set(block, work);
  void work.finally(() => st.allocations.delete(block)).catch(() => undefined);
  return work;
}

interface WholeBlock {
  block: number;
  data: Buffer;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Whole-block allocations asked for during the current event-loop turn, per file. */
const wholeQueues = new WeakMap<VhdState, WholeBlock[]>();

/**
 * A new block written whole (a sequential copy or import): its bitmap, every bit set, and
 * its data go out as one write, and the blocks asked for in one event-loop turn (a large
 * write spans several) share the rest: one footer move to the new end before any of them,
 * then their bitmaps and data, then one write of their BAT entries, which is what makes
 * them visible. Per block that is one trip through the I/O threads instead of five.
 */
function allocateWhole(st: VhdState, block: number, data: Buffer): Promise<void> {
  let queue = wholeQueues.get(st);
  if (!queue) wholeQueues.set(st, (queue = []));
  const work = new Promise<void>((resolve, reject) => {
    if (queue.push({ block, data, resolve, reject }) === 1) setImmediate(() => void allocateBatch(st));
  });
  st.allocations.set(block, work);
  void work.finally(() => st.allocations.delete(block)).catch(() => undefined);
  return work;
}

async function allocateBatch(st: VhdState): Promise<void> {
  const batch = wholeQueues.get(st) ?? [];
  wholeQueues.delete(st);
  const placed: { w: WholeBlock; pos: number }[] = [];
  try {
    await st.metaLock.run(0, async () => {
      for (const w of batch) {
        const pos = Math.ceil((st.dataEnd + st.bitmapBytes) / PAGE) * PAGE - st.bitmapBytes;
        if (pos / 512 >= UNUSED_BAT_ENTRY) throw new VhdError('FILE_TOO_LARGE', 'no room for another block below 2 TiB', st.path);
        st.dataEnd = pos + st.bitmapBytes + st.header!.blockSize;
        placed.push({ w, pos });
      }
      await ensureFooterAt(st, st.dataEnd);
    });
  } catch (e) {
    for (const w of batch) w.reject(e);
    return;
  }
  const bm = Buffer.alloc(st.bitmapBytes);
  setBits(bm, 0, st.sectorsPerBlock);
  // Issued in one turn: the gatherer sends each block's bitmap and data as one pwritev.
  const written = await Promise.allSettled(placed.map(({ w, pos }) => settleAll([st.data.write(pos, bm), st.data.write(pos + st.bitmapBytes, w.data)])));
  const ok = placed.filter((_, i) => written[i]!.status === 'fulfilled');
  written.forEach((r, i) => { if (r.status === 'rejected') placed[i]!.w.reject(r.reason); });
  if (!ok.length) return;
  try {
    await st.metaLock.run(0, async () => {
      // Runs of adjacent BAT entries, each one write (from a copy: memory changes after).
      ok.sort((a, b) => a.w.block - b.w.block);
      for (let i = 0; i < ok.length;) {
        let j = i + 1;
        while (j < ok.length && ok[j]!.w.block === ok[j - 1]!.w.block + 1) j++;
        const entries = Buffer.concat(ok.slice(i, j).map(({ pos }) => batEntryBytes(pos / 512)));
        await writeFully(st.fh, entries, st.header!.tableOffset + ok[i]!.w.block * 4);
        i = j;
      }
      for (const { w, pos } of ok) {
        st.bitmaps.install(w.block, Buffer.from(bm));
        st.bat![w.block] = pos / 512;
      }
    });
  } catch (e) {
    for (const { w } of ok) w.reject(e);
    return;
  }
  for (const { w } of ok) w.resolve();
}

async function writeBlock(st: VhdState, block: number, inBlock: number, chunk: Buffer, allocateAll: boolean): Promise<void> {
  const pending = st.allocations.get(block);
  if (pending) await pending;
  const known = st.bat![block] !== UNUSED_BAT_ENTRY ? await readBitmap(st, block) : null;
  const runs = runsToWrite(st, chunk, inBlock, known, allocateAll);
  if (runs.length === 0) return;
  if (st.bat![block] === UNUSED_BAT_ENTRY && !st.allocations.has(block) && runs.length === 1 && runs[0]!.count === st.sectorsPerBlock) {
    return allocateWhole(st, block, chunk);
  }
  if (st.bat![block] === UNUSED_BAT_ENTRY) await allocate(st, block);
  // The canonical bitmap is in memory now (just read or installed); holding it keeps it there.
  while (!st.bitmaps.peek(block)) await readBitmap(st, block);
  const bm = st.bitmaps.hold(block);
  let persisted: Promise<void>;
  try {
    const dataAt = st.bat![block]! * 512 + st.bitmapBytes;
    if (runs.length === 1) await st.data.write(dataAt + runs[0]!.start * 512, slice(chunk, inBlock, runs[0]!));
    else await settleAll(runs.map((r) => st.data.write(dataAt + r.start * 512, slice(chunk, inBlock, r))));
    let changed = false;
    for (const r of runs) {
      if (allBitsSet(bm, r.start, r.count)) continue;
      setBits(bm, r.start, r.count);
      changed = true;
    }
    // Resolve only once the bits are in the file too (or, when an overlapping write set them
    // already, once that write's bitmap is): other readers of the file see what we wrote.
    persisted = changed ? st.bitmaps.persist(block, (copy) => writeFully(st.fh, copy, st.bat![block]! * 512)) : st.bitmaps.persisted(block);
  } finally {
    st.bitmaps.release(block);
  }
  await persisted;
}

/**
 * Writes whole sectors at `sector`; the caller has checked bounds and alignment. `allocate`
 * turns zero detection off, for callers that want the space taken (NBD's NO_HOLE).
 */
export async function writeSectors(st: VhdState, sector: number, data: Buffer, allocate = false): Promise<void> {
  if (!st.bat) return st.data.write(sector * 512, data);
  const spb = st.sectorsPerBlock;
  const count = data.length / 512;
  const first = Math.floor(sector / spb);
  if (Math.floor((sector + count - 1) / spb) === first) return writeBlock(st, first, sector - first * spb, data, allocate);
  const writes: Promise<void>[] = [];
  for (let s = sector; s < sector + count; ) {
    const block = Math.floor(s / spb);
    const inBlock = s - block * spb;
    const n = Math.min(spb - inBlock, sector + count - s);
    writes.push(writeBlock(st, block, inBlock, data.subarray((s - sector) * 512, (s - sector + n) * 512), allocate));
    s += n;
  }
  await settleAll(writes);
}
