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

/**
 * Maps [sector, sector+count) from the bitmaps in memory; undefined when one it needs is
 * not (then `mapSectors` loads it). Sectors past the virtual size are reported as absent.
 */
export function mapSectorsCached(st: VhdState, sector: number, count: number): SectorRun[] | undefined {
  const out: SectorRun[] = [];
  const sizeSectors = st.footer.currentSize / 512;
  const inside = Math.max(0, Math.min(count, sizeSectors - sector));
  if (!st.bat) {
    if (inside > 0) out.push({ sector, count: inside, fileOffset: sector * 512 });
  } else {
    const spb = st.sectorsPerBlock;
    for (let s = sector; s < sector + inside; ) {
      const b = Math.floor(s / spb);
      const inBlock = s - b * spb;
      const n = Math.min(spb - inBlock, sector + inside - s);
      const entry = st.bat[b]!;
      if (entry === UNUSED_BAT_ENTRY) {
        push(out, { sector: s, count: n, fileOffset: null });
      } else {
        const bm = st.bitmaps.peek(b);
        if (!bm) return undefined;
        const data = entry * 512 + st.bitmapBytes;
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

/**
 * Starts reading the bitmaps of the blocks under [sector, sector+count) that are stored here
 * and not in memory; undefined when there are none. Nothing is mapped: for callers that
 * want the bitmaps of many ranges or files in flight at once before mapping any.
 */
export function loadBitmaps(st: VhdState, sector: number, count: number): Promise<unknown> | undefined {
  if (!st.bat) return undefined;
  const spb = st.sectorsPerBlock;
  const end = Math.min(sector + count, st.footer.currentSize / 512);
  let wanted: Promise<Buffer>[] | undefined;
  for (let b = Math.floor(sector / spb); b * spb < end; b++) {
    if (st.bat[b] !== UNUSED_BAT_ENTRY && !st.bitmaps.peek(b)) (wanted ??= []).push(readBitmap(st, b));
  }
  return wanted && (wanted.length === 1 ? wanted[0] : Promise.all(wanted));
}

/** Maps [sector, sector+count), reading the bitmaps it needs (in parallel) first. */
export async function mapSectors(st: VhdState, sector: number, count: number): Promise<SectorRun[]> {
  for (let round = 0; ; round++) {
    if (round > 64) throw new Error(`mapping sectors ${sector}+${count}: the bitmap cache keeps evicting what it needs`);
    const runs = mapSectorsCached(st, sector, count);
    if (runs) return runs;
    // Loaded bitmaps may in theory be evicted again before we look: then go round once more.
    await loadBitmaps(st, sector, count);
  }
}
