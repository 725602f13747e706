/**
 * @module
 * Sector bitmaps of VHD blocks: bit i (most significant bit first) says whether sector i of
 * the block is stored in this file. Helpers work a byte at a time over full or empty bytes so
 * that run-length scans of 4096-sector blocks stay cheap.
 */

export interface BitRun {
  /** First sector of the run, relative to the block. */
  start: number;
  count: number;
  set: boolean;
}

export function testBit(bm: Uint8Array, i: number): boolean {
  return (bm[i >> 3]! & (0x80 >> (i & 7))) !== 0;
}

export function setBits(bm: Uint8Array, start: number, count: number): void {
  const end = start + count;
  let i = start;
  for (; i < end && (i & 7) !== 0; i++) bm[i >> 3] |= 0x80 >> (i & 7);
  for (; i + 8 <= end; i += 8) bm[i >> 3] = 0xff;
  for (; i < end; i++) bm[i >> 3] |= 0x80 >> (i & 7);
}

/** Maximal runs of equal bits over [start, start+count). */
export function bitRuns(bm: Uint8Array, start: number, count: number): BitRun[] {
  const out: BitRun[] = [];
  const end = start + count;
  let i = start;
  while (i < end) {
    const set = testBit(bm, i);
    const full = set ? 0xff : 0;
    let j = i + 1;
    while (j < end) {
      if ((j & 7) === 0 && j + 8 <= end && bm[j >> 3] === full) {
        j += 8;
        continue;
      }
      if (testBit(bm, j) !== set) break;
      j++;
    }
    out.push({ start: i, count: j - i, set });
    i = j;
  }
  return out;
}

export function allBitsSet(bm: Uint8Array, start: number, count: number): boolean {
  const end = start + count;
  let i = start;
  for (; i < end && (i & 7) !== 0; i++) if (!testBit(bm, i)) return false;
  for (; i + 8 <= end; i += 8) if (bm[i >> 3] !== 0xff) return false;
  for (; i < end; i++) if (!testBit(bm, i)) return false;
  return true;
}

export function anyBitSet(bm: Uint8Array, start: number, count: number): boolean {
  const end = start + count;
  let i = start;
  for (; i < end && (i & 7) !== 0; i++) if (testBit(bm, i)) return true;
  for (; i + 8 <= end; i += 8) if (bm[i >> 3] !== 0) return true;
  for (; i < end; i++) if (testBit(bm, i)) return true;
  return false;
}
