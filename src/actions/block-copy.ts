/**
 * @module
 * Copying one disk's content into another through the block device port, thinly: ranges the
 * source reports as zeroes are never read, chunks that read as all zeroes are never written,
 * so a copy uses space only for data. With a `base` (a disk the target already equals), only
 * what differs from it is written.
 */
import type { BlockDevice } from '../core/ports/block-device.js';

const CHUNK = 2 * 1024 * 1024;
/** Block status is asked for in windows, so a huge sparse disk never yields one huge list. */
const WINDOW = 1024 * 1024 * 1024;
const ZEROES = Buffer.alloc(CHUNK);

/** What a copy reads: a disk's size, its zero ranges and its bytes. */
export type ReadableDisk = Pick<BlockDevice, 'size' | 'read' | 'blockStatus'>;

export interface CopyOptions {
  /** The target reads as zeroes everywhere (a new thin disk): zero ranges need no work. */
  readonly targetEmpty: boolean;
  /** A disk whose content the target already has; unchanged chunks are skipped. */
  readonly base?: ReadableDisk;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface CopyStats {
  bytesRead: number;
  bytesWritten: number;
}

export function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i += CHUNK) {
    const n = Math.min(CHUNK, buf.length - i);
    if (!buf.subarray(i, i + n).equals(ZEROES.subarray(0, n))) return false;
  }
  return true;
}

async function zeroRange(dst: BlockDevice, base: ReadableDisk | undefined, offset: number, length: number): Promise<void> {
  if (!base) {
    await dst.writeZeroes(offset, length, { mayTrim: true });
    return;
  }
  for (const e of await base.blockStatus(offset, length)) {
    if (!e.zero) await dst.writeZeroes(e.offset, e.length, { mayTrim: true });
  }
}

export async function copyBlocks(src: ReadableDisk, dst: BlockDevice, o: CopyOptions): Promise<CopyStats> {
  const stats: CopyStats = { bytesRead: 0, bytesWritten: 0 };
  const size = Math.min(src.size, dst.size);
  for (let w = 0; w < size; w += WINDOW) {
    const wlen = Math.min(WINDOW, size - w);
    for (const e of await src.blockStatus(w, wlen)) {
      o.signal?.throwIfAborted();
      if (e.zero) {
        if (!o.targetEmpty) await zeroRange(dst, o.base, e.offset, e.length);
        continue;
      }
      for (let p = e.offset; p < e.offset + e.length; p += CHUNK) {
        o.signal?.throwIfAborted();
        const n = Math.min(CHUNK, e.offset + e.length - p);
        const data = await src.read(p, n);
        stats.bytesRead += n;
        if (o.base && data.equals(await o.base.read(p, n))) continue;
        if (isZero(data)) {
          if (!o.targetEmpty) await zeroRange(dst, o.base, p, n);
          continue;
        }
        await dst.write(p, data);
        stats.bytesWritten += n;
      }
    }
    o.onProgress?.(w + wlen, size);
  }
  await dst.flush();
  return stats;
}
