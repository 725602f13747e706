/**
 * @module
 * Copy primitives for the garbage collector: merging a hidden node into its parent and
 * copying a whole chain's content into another file. Both copy only stored sectors, driven by
 * the sector bitmaps, so data never written stays unallocated in the destination; both are
 * idempotent, so a journaled step can simply be run again after a crash.
 *
 * The merge copies a few blocks at once, each with one read per run of stored sectors into
 * a page-aligned buffer and one write of it, so that reading one block overlaps writing
 * another and the I/O threads stay busy; it runs at about the speed of `cp`.
 */
import { alignedBuffer } from './aligned-buffer.js';
import { VhdChain } from './vhd-chain.js';
import type { VhdFile } from './vhd-file.js';
import { settleAll } from './vhd-state.js';

export interface CopyStats {
  /** Bytes of data copied (stored sectors only). */
  bytes: number;
}

/** Largest single read/write while copying a chain. */
const CHUNK = 4 * 1024 * 1024;
/** Blocks copied at once by `coalesceInto`. */
const PARALLEL_BLOCKS = 4;

async function growTo(dst: VhdFile, size: number): Promise<void> {
  if (dst.size < size) await dst.resize(size);
}

export interface CoalesceOptions {
  /**
   * Called before each allocated block of the child is copied: the SR layer uses it for
   * cancellation (throw to stop; the copy is idempotent, so stopping half way is harmless)
   * and for its crash-point tests.
   */
  onBlock?: (block: number) => void | Promise<void>;
}

/** Copies the sectors `child` stores in `block` into `parent`, using `buf` (one block long). */
async function copyBlock(child: VhdFile, parent: VhdFile, block: number, buf: Buffer): Promise<number> {
  const bs = child.blockSize;
  const start = block * bs;
  const len = Math.min(bs, child.size - start);
  const runs = (await child.sectorRuns(start / 512, len / 512)).filter((r) => r.fileOffset !== null);
  await settleAll(runs.map((r) => child.readStored(r.fileOffset!, buf, r.sector * 512 - start, r.count * 512)));
  await settleAll(runs.map((r) => parent.write(r.sector * 512, buf.subarray(r.sector * 512 - start, (r.sector + r.count) * 512 - start))));
  return runs.reduce((n, r) => n + r.count * 512, 0);
}

/**
 * Writes every sector stored in `child` (bitmap bit set) into `parent`, growing the parent to
 * the child's size first. Afterwards the child's children can be re-pointed at the parent.
 */
export async function coalesceInto(child: VhdFile, parent: VhdFile, opts: CoalesceOptions = {}): Promise<CopyStats> {
  await growTo(parent, child.size);
  const stats = { bytes: 0 };
  const blocks = child.allocatedBlocks();
  const bs = child.blockSize;
  const lanes = Math.min(PARALLEL_BLOCKS, blocks.length);
  const slab = alignedBuffer(lanes * bs);
  let next = 0;
  let failed = false;
  const lane = async (buf: Buffer): Promise<void> => {
    while (!failed && next < blocks.length) {
      const block = blocks[next++]!;
      try {
        await opts.onBlock?.(block);
        const n = await copyBlock(child, parent, block, buf);
        stats.bytes += n; // not `+= await`: that would read the total before the await
      } catch (e) {
        failed = true; // the other lanes finish their block and stop
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: lanes }, (_, i) => lane(slab.subarray(i * bs, (i + 1) * bs))));
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  await parent.flush();
  return stats;
}

/** Copies the chain's stored data (whatever layer holds it) into `dst`, growing it if needed. */
export async function copyAllocated(src: VhdChain, dst: VhdFile): Promise<CopyStats> {
  await growTo(dst, src.size);
  const stats = { bytes: 0 };
  for await (const { offset, data } of src.extents({ chunkSize: CHUNK })) {
    await dst.write(offset, data);
    stats.bytes += data.length;
  }
  await dst.flush();
  return stats;
}
