/**
 * @module
 * Which sectors of a range this one file stores, and where: the primitive under reads,
 * chain resolution and block status. Runs are as long as possible (whole bitmap runs inside a
 * block), so callers issue one read per run, never one per sector.
 */
import { UNUSED_BAT_ENTRY } from './bat.js';
import { bitRuns } from './bitmap.js';
import { readBitmap, type VhdState } from './vhd-state.js';

export interface SectorRun {
  sector: number;
  count: number;
  /** Byte offset of the run's data in the file, or null when this file does not have it. */
  fileOffset: number | null;
}

function push(out: SectorRun[], run: SectorRun): void {
  const last = out[out.length - 1];
  if (last && last.sector + last.count === run.sector) {
    if (last.fileOffset === null && run.fileOffset === null) return void (last.count += run.count);
    if (last.fileOffset !== null && run.fileOffset === last.fileOffset + last.count * 512) return void (last.count += run.count);
  }
  out.push({ ...run });
}

/** Maps [sector, sector+count); sectors past the virtual size are reported as absent. */
export async function mapSectors(st: VhdState, sector: number, count: number): Promise<SectorRun[]> {
  const out: SectorRun[] = [];
  const sizeSectors = st.footer.currentSize / 512;
  const inside = Math.max(0, Math.min(count, sizeSectors - sector));
  if (!st.bat) {
    if (inside > 0) push(out, { sector, count: inside, fileOffset: sector * 512 });
  } else {
    const spb = st.sectorsPerBlock;
    const first = Math.floor(sector / spb);
    const last = Math.floor((sector + inside - 1) / spb);
    // Fetch the range's bitmaps in parallel before walking it.
    const bitmaps = new Map<number, Buffer>();
    const wanted: Promise<void>[] = [];
    for (let b = first; inside > 0 && b <= last; b++) {
      if (st.bat[b] !== UNUSED_BAT_ENTRY) wanted.push(readBitmap(st, b).then((bm) => void bitmaps.set(b, bm)));
    }
    await Promise.all(wanted);
    for (let s = sector; s < sector + inside; ) {
      const b = Math.floor(s / spb);
      const inBlock = s - b * spb;
      const n = Math.min(spb - inBlock, sector + inside - s);
      const entry = st.bat[b]!;
      if (entry === UNUSED_BAT_ENTRY) {
        push(out, { sector: s, count: n, fileOffset: null });
      } else {
        const data = entry * 512 + st.bitmapBytes;
        // A block allocated by a concurrent write since the prefetch has no bitmap here yet.
        const bm = bitmaps.get(b) ?? (await readBitmap(st, b));
        for (const r of bitRuns(bm, inBlock, n)) {
          push(out, { sector: b * spb + r.start, count: r.count, fileOffset: r.set ? data + r.start * 512 : null });
        }
      }
      s += n;
    }
  }
  if (inside < count) push(out, { sector: sector + inside, count: count - inside, fileOffset: null });
  return out;
}
