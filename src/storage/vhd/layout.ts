/**
 * @module
 * Validation of where things are in an untrusted dynamic or differencing VHD: header, BAT,
 * blktap's batmap and parent locators must lie inside the file without overlapping, and
 * every BAT entry must point at a whole block (bitmap + data) that lies before the footer,
 * outside metadata and apart from every other block. The result also gives the end of the
 * used area, where the next block is appended (tapdisk computes it the same way).
 */
import { padToSector, UNUSED_BAT_ENTRY } from './bat.js';
import { HEADER_SIZE, locatorSpace, PlatformCode, type DynamicHeader } from './dynamic-header.js';
import { check, VhdError } from './errors.js';
import { DiskType, FOOTER_SIZE, type Footer } from './footer.js';

export interface ByteRange {
  start: number;
  end: number;
  what: string;
}

/** Largest virtual size accepted from a file: what 32-bit sector offsets can address. */
export const MAX_READ_SIZE = 2 ** 41;
/** Upper bound on BAT entries, so a forged header cannot make us allocate gigabytes. */
export const MAX_BAT_ENTRIES = 2 ** 24;

export function bitmapBytesFor(blockSize: number): number {
  return padToSector(blockSize / 512 / 8);
}

function overlaps(a: ByteRange, b: ByteRange): boolean {
  return a.start < b.end && b.start < a.end;
}

/** Size rules shared by every disk type. */
export function checkVirtualSize(footer: Footer, path: string): void {
  const size = footer.currentSize;
  check(Number.isSafeInteger(size) && size % 512 === 0, 'BAD_SIZE', `virtual size ${size} is not a whole number of sectors`, path);
  check(size <= MAX_READ_SIZE, 'BAD_SIZE', `virtual size ${size} exceeds 2 TiB`, path);
}

/** Header position and BAT geometry, checked before the BAT is read. */
export function checkHeaderPlacement(footer: Footer, fileSize: number, path: string): number {
  const footerOffset = fileSize - FOOTER_SIZE;
  const off = footer.dataOffset;
  check(
    off !== null && Number.isSafeInteger(off) && off >= FOOTER_SIZE && off + HEADER_SIZE <= footerOffset,
    'BAD_LAYOUT',
    `dynamic header offset ${off} outside the file`,
    path,
  );
  return off;
}

export function checkBatPlacement(footer: Footer, header: DynamicHeader, fileSize: number, path: string): ByteRange {
  const footerOffset = fileSize - FOOTER_SIZE;
  const needed = Math.ceil(footer.currentSize / header.blockSize);
  check(header.maxTableEntries >= needed, 'BAT_TOO_SMALL', `${header.maxTableEntries} BAT entries for ${needed} blocks`, path);
  check(header.maxTableEntries <= MAX_BAT_ENTRIES, 'BAD_LAYOUT', `${header.maxTableEntries} BAT entries is too many`, path);
  const start = header.tableOffset;
  const end = start + header.maxTableEntries * 4;
  check(Number.isSafeInteger(start) && start >= 0 && end <= footerOffset, 'BAD_LAYOUT', `BAT at ${start} outside the file`, path);
  const bat = { start, end: Math.min(padToSector(end), footerOffset), what: 'BAT' };
  const head = { start: footer.dataOffset!, end: footer.dataOffset! + HEADER_SIZE, what: 'dynamic header' };
  check(!overlaps(bat, head) && start >= FOOTER_SIZE, 'BAD_LAYOUT', 'BAT overlaps the headers', path);
  return bat;
}

/** Metadata ranges of a validated header (footer copy, header, BAT, batmap, locators). */
export function metadataRanges(
  footer: Footer,
  header: DynamicHeader,
  bat: ByteRange,
  batmap: ByteRange[],
  fileSize: number,
): ByteRange[] {
  const ranges: ByteRange[] = [
    { start: 0, end: FOOTER_SIZE, what: 'footer copy' },
    { start: footer.dataOffset!, end: footer.dataOffset! + HEADER_SIZE, what: 'dynamic header' },
    bat,
    ...batmap,
  ];
  if (footer.diskType === DiskType.Differencing) {
    for (const loc of header.locators) {
      if (loc.code === PlatformCode.None) continue;
      const end = loc.dataOffset + locatorSpace(loc);
      // A locator outside the file is unusable, not fatal: another one may still name the parent.
      if (loc.dataOffset >= FOOTER_SIZE && end <= fileSize - FOOTER_SIZE && end > loc.dataOffset) {
        ranges.push({ start: loc.dataOffset, end, what: 'parent locator' });
      }
    }
  }
  return ranges;
}

/**
 * Checks every used BAT entry and returns the end of the used area (metadata and blocks).
 * Sorting the block offsets makes the overlap check O(n log n) on at most 2^24 entries.
 */
export function checkBatEntries(
  bat: Uint32Array,
  blockSpan: number,
  metadata: ByteRange[],
  footerOffset: number,
  path: string,
): number {
  let end = Math.max(...metadata.map((r) => r.end));
  const used: number[] = [];
  for (let i = 0; i < bat.length; i++) {
    const e = bat[i]!;
    if (e === UNUSED_BAT_ENTRY) continue;
    const block = { start: e * 512, end: e * 512 + blockSpan, what: `block ${i}` };
    if (block.end > footerOffset) {
      throw new VhdError('BAT_ENTRY_OUT_OF_RANGE', `BAT entry ${i} points at ${block.start}, beyond the data area`, path);
    }
    const hit = metadata.find((m) => overlaps(m, block));
    if (hit) throw new VhdError('BAT_ENTRY_IN_METADATA', `BAT entry ${i} overlaps the ${hit.what}`, path);
    used.push(e);
    if (block.end > end) end = block.end;
  }
  const sorted = Uint32Array.from(used).sort();
  for (let i = 1; i < sorted.length; i++) {
    if ((sorted[i]! - sorted[i - 1]!) * 512 < blockSpan) {
      throw new VhdError('BAT_ENTRIES_OVERLAP', `blocks at sector ${sorted[i - 1]} and ${sorted[i]} overlap`, path);
    }
  }
  return end;
}
