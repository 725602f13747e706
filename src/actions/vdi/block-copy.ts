/**
 * @module
 * Writing content into a disk thinly, through the block device port. A chunk is compared
 * with what the target already holds and only the 4 KiB pages that differ are written: a
 * range that reads as zeroes on both sides costs nothing, and content a snapshot already
 * shares is not written again (which would take new space in the target's own layer).
 * Copies read only the ranges the source does not report as zeroes.
 */
import type { BlockDevice } from '../../core/ports/block-device.js';

const CHUNK = 2 * 1024 * 1024;
const PAGE = 4096;
/** Block status is asked for in windows, so a huge sparse disk never yields one huge list. */
const WINDOW = 1024 * 1024 * 1024;
const ZEROES = Buffer.alloc(CHUNK);

/** What a copy reads: a disk's size, its zero ranges and its bytes. */
export type ReadableDisk = Pick<BlockDevice, 'size' | 'read' | 'blockStatus'>;

export interface CopyOptions {
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

/**
 * Makes `dst` hold `data` at `offset`, writing only the pages that differ from its current
 * content. Returns the bytes written. `scratch` (at least `data.length` bytes) receives the
 * current content: a stream of chunks then reads into one buffer instead of allocating a
 * new one each time, which would drive the garbage collector through the whole heap.
 */
export async function writeChanges(dst: BlockDevice, offset: number, data: Buffer, scratch?: Buffer): Promise<number> {
  const blank = (await dst.blockStatus(offset, data.length)).every((e) => e.zero);
  if (blank && isZero(data)) return 0;
  const into = scratch && scratch.length >= data.length ? scratch.subarray(0, data.length) : undefined;
  const current = blank ? undefined : await dst.read(offset, data.length, into);
  if (current?.equals(data)) return 0;
  // Buffer.compare on ranges: no slice objects per page.
  const same = (at: number, n: number) => (current
    ? data.compare(current, at, at + n, at, at + n) === 0
    : data.compare(ZEROES, 0, n, at, at + n) === 0);
  let written = 0;
  let run = -1;
  const flushRun = async (end: number) => {
    if (run < 0) return;
    const part = data.subarray(run, end);
    if (isZero(part)) await dst.writeZeroes(offset + run, part.length, { mayTrim: true });
    else await dst.write(offset + run, part);
    written += part.length;
    run = -1;
  };
  for (let at = 0; at < data.length; at += PAGE) {
    const n = Math.min(PAGE, data.length - at);
    if (same(at, n)) await flushRun(at);
    else if (run < 0) run = at;
  }
  await flushRun(data.length);
  return written;
}

/** Makes `dst` read as zeroes over the range, touching only what it stores there. */
export async function zeroRange(dst: BlockDevice, offset: number, length: number): Promise<void> {
  for (const e of await dst.blockStatus(offset, length)) {
    if (!e.zero) await dst.writeZeroes(e.offset, e.length, { mayTrim: true });
  }
}

/** Makes `dst` hold `src`'s content (over the smaller of the two sizes). */
export async function copyBlocks(src: ReadableDisk, dst: BlockDevice, o: CopyOptions = {}): Promise<CopyStats> {
  const stats: CopyStats = { bytesRead: 0, bytesWritten: 0 };
  const incoming = Buffer.allocUnsafeSlow(CHUNK);
  const present = Buffer.allocUnsafeSlow(CHUNK);
  const size = Math.min(src.size, dst.size);
  for (let w = 0; w < size; w += WINDOW) {
    const wlen = Math.min(WINDOW, size - w);
    for (const e of await src.blockStatus(w, wlen)) {
      o.signal?.throwIfAborted();
      if (e.zero) {
        await zeroRange(dst, e.offset, e.length);
        continue;
      }
      for (let p = e.offset; p < e.offset + e.length; p += CHUNK) {
        o.signal?.throwIfAborted();
        const n = Math.min(CHUNK, e.offset + e.length - p);
        const data = await src.read(p, n, incoming.subarray(0, n));
        stats.bytesRead += n;
        stats.bytesWritten += await writeChanges(dst, p, data, present);
      }
    }
    o.onProgress?.(w + wlen, size);
  }
  await dst.flush();
  return stats;
}
