/**
 * @module
 * Disk images the VHD benchmarks start from, built with Islet's own VHD library the way a
 * host would lay them out (blktap layout, creator `tap`): a dynamic VHD holding a raw
 * file's bytes, and scattered writes for the layers of a snapshot chain.
 */
import { open as openFile } from 'node:fs/promises';
import { createDynamic, open as openVhd } from '../src/storage/vhd/index.js';
import type { VhdFile } from '../src/storage/vhd/vhd-file.js';

const CHUNK = 4 * 1024 * 1024;

/** Copies `[from, from+length)` of a raw file into an open VHD at the same offsets. */
export async function copyRawInto(raw: string, vhd: VhdFile, from = 0, length = vhd.size - from): Promise<void> {
  const fh = await openFile(raw, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let at = from; at < from + length; at += CHUNK) {
      const n = Math.min(CHUNK, from + length - at);
      const { bytesRead } = await fh.read(buf, 0, n, at);
      if (bytesRead !== n) throw new Error(`short read of ${raw} at ${at}`);
      await vhd.write(at, buf.subarray(0, n));
    }
  } finally {
    await fh.close();
  }
}

/** A new dynamic VHD of `size` bytes holding the first `size` bytes of `raw`. */
export async function vhdFromRaw(raw: string, path: string, size: number): Promise<void> {
  await createDynamic(path, size);
  const vhd = await openVhd(path);
  try {
    await copyRawInto(raw, vhd);
    await vhd.flush();
  } finally {
    await vhd.close();
  }
}

/** Seeded xorshift, so every run builds the same chain. */
export function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

export interface Scribble {
  offset: number;
  length: number;
}

/**
 * Guest-like writes between two snapshots: `bytes` in total, as extents of 4 KiB to 1 MiB
 * at 4 KiB-aligned random places of a `size`-byte disk.
 */
export function scribbles(rnd: () => number, size: number, bytes: number): Scribble[] {
  const out: Scribble[] = [];
  for (let done = 0; done < bytes; ) {
    const length = 4096 * (1 + Math.floor(rnd() * 256));
    const offset = 4096 * Math.floor(rnd() * ((size - length) / 4096));
    out.push({ offset, length });
    done += length;
  }
  return out;
}
