/**
 * @module
 * Copy primitives for the garbage collector: merging a hidden node into its parent and
 * copying a whole chain's content into another file. Both copy only stored sectors, driven by
 * the sector bitmaps, so data never written stays unallocated in the destination; both are
 * idempotent, so a journaled step can simply be run again after a crash.
 */
import { VhdChain } from './vhd-chain.js';
import type { VhdFile } from './vhd-file.js';

export interface CopyStats {
  /** Bytes of data copied (stored sectors only). */
  bytes: number;
}

/** Largest single read/write while copying. */
const CHUNK = 4 * 1024 * 1024;

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

/**
 * Writes every sector stored in `child` (bitmap bit set) into `parent`, growing the parent to
 * the child's size first. Afterwards the child's children can be re-pointed at the parent.
 */
export async function coalesceInto(child: VhdFile, parent: VhdFile, opts: CoalesceOptions = {}): Promise<CopyStats> {
  await growTo(parent, child.size);
  const stats = { bytes: 0 };
  const bs = child.blockSize;
  for (const block of child.allocatedBlocks()) {
    await opts.onBlock?.(block);
    const start = block * bs;
    const len = Math.min(bs, child.size - start);
    for (const r of await child.map(start, len)) {
      if (r.fileOffset === null) continue;
      for (let o = 0; o < r.length; o += CHUNK) {
        const n = Math.min(CHUNK, r.length - o);
        const buf = Buffer.allocUnsafe(n);
        await child.readMapped({ offset: r.offset + o, length: n, fileOffset: r.fileOffset + o }, buf, 0);
        await parent.write(r.offset + o, buf);
        stats.bytes += n;
      }
    }
  }
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
