/**
 * @module
 * A VHD read in one pass as it arrives (the body of a VDI import), checked as `vhd-open.ts`
 * checks a file. A dynamic VHD as qemu-img, blktap, XenServer and our own exporter write it
 * has its footer copy, dynamic header and BAT first and every block after the BAT; sorting
 * the BAT's entries by offset says which disk block each arriving block is, so its data
 * (with the sectors its bitmap leaves clear zeroed) goes out as soon as it is read. The
 * footer at the end is checked last, against the copy the layout was read from. A fixed VHD
 * has no copy at the start: its bytes are the disk, all but the last 512, which are its
 * footer. A body whose metadata or blocks come out of that order (a BAT behind its blocks,
 * blocks between the header and the BAT) cannot be read in one pass: it is handed back
 * whole (`spool`) for the file reader, which accepts any layout. Problems are `VhdError`s.
 */
import { padToSector, parseBat } from './bat.js';
import { allBitsSet, bitRuns } from './bitmap.js';
import { ByteReader, type ByteSource } from './byte-reader.js';
import { HEADER_SIZE, parseDynamicHeader, UNUSED_BAT_ENTRY } from './dynamic-header.js';
import { check, VhdError } from './errors.js';
import { DiskType, FOOTER_COOKIE, FOOTER_SIZE, parseFooter, type Footer } from './footer.js';
import { bitmapBytesFor, checkVirtualSize, MAX_BAT_ENTRIES } from './layout.js';

/** Largest data piece handed out; a block of more is handed out in pieces of this. */
export const PIECE = 2 * 1024 * 1024;
/** Metadata farther into the body than this is not waited for in memory: the body is spooled. */
export const HEAD_LIMIT = 16 * 1024 * 1024;
/** Piece buffers: one being written, one waiting, one filling, one spare. */
const BUFFERS = 4;

export type VhdStreamItem =
  | { readonly kind: 'disk'; readonly size: number | undefined; readonly isDifferencing: boolean }
  | { readonly kind: 'data'; readonly offset: number; readonly data: Buffer; readonly progress?: number; release(): void }
  | { readonly kind: 'zero'; readonly offset: number; readonly length: number }
  | { readonly kind: 'spool'; readonly reason: string; readonly body: AsyncIterable<Buffer> };

/** A few reusable piece buffers; taking one waits until the consumer gives one back. */
class PiecePool {
  private readonly free: Buffer[] = [];
  private readonly waiting: Array<() => void> = [];
  constructor(count: number, private readonly size: number) {
    for (let i = 0; i < count; i++) this.free.push(Buffer.allocUnsafeSlow(size));
  }
  async take(): Promise<Buffer> {
    while (this.free.length === 0) await new Promise<void>((r) => this.waiting.push(r));
    return this.free.pop()!;
  }
  give(buf: Buffer): void {
    this.free.push(buf);
    this.waiting.shift()?.();
  }
  /** The data item for `buf[0, length)` at `offset`, whose release gives `buf` back once. */
  item(buf: Buffer, offset: number, length: number, progress?: number): VhdStreamItem {
    let given = false;
    const release = () => {
      if (!given) this.give(buf);
      given = true;
    };
    return { kind: 'data', offset, data: buf.subarray(0, length), progress, release };
  }
}

function truncated(what: string, at: number): VhdError {
  return new VhdError('TRUNCATED', `the body ends at byte ${at}, inside or before ${what}`);
}

async function exactly(r: ByteReader, length: number, what: string): Promise<Buffer> {
  const at = r.position;
  const buf = await r.read(length);
  if (buf.length < length) throw truncated(what, at + buf.length);
  return buf;
}

async function skipTo(r: ByteReader, offset: number, what: string): Promise<void> {
  const gap = offset - r.position;
  if ((await r.skip(gap)) < gap) throw truncated(what, r.position);
}

/** Zeroes the sectors of `buf[0, length)` that the block's bitmap leaves clear. */
function applyBitmap(bitmap: Buffer, firstSector: number, buf: Buffer, length: number): void {
  const sectors = Math.ceil(length / 512);
  if (allBitsSet(bitmap, firstSector, sectors)) return;
  for (const run of bitRuns(bitmap, firstSector, sectors)) {
    if (!run.set) buf.fill(0, (run.start - firstSector) * 512, Math.min(length, (run.start - firstSector + run.count) * 512));
  }
}

/** The footer at the end of the body (its last 512 bytes), read as `vhd-open.ts` reads it. */
function endFooter(tail: Buffer, copy: Footer | null): Footer {
  try {
    return parseFooter(tail);
  } catch (e) {
    if (copy && e instanceof VhdError && e.code === 'BAD_COOKIE') {
      throw new VhdError('TRUNCATED', `no valid footer at the end (${e.code}) but a valid copy at offset 0`);
    }
    throw e;
  }
}

/** A fixed VHD: everything but the last 512 bytes is the disk, handed out as it comes. */
async function* fixedBody(r: ByteReader, first: Buffer, pool: PiecePool, piece: number): AsyncGenerator<VhdStreamItem> {
  yield { kind: 'disk', size: undefined, isDifferencing: false };
  let buf: Buffer | null = await pool.take();
  first.copy(buf);
  let fill = first.length + (await r.readInto(buf, first.length, piece - first.length));
  let pos = 0;
  // A full buffer is disk data only once 512 more bytes have come: until then it may end in the footer.
  while (buf && fill === piece) {
    const next = await pool.take();
    const got = await r.readInto(next, 0, piece);
    if (got >= FOOTER_SIZE) {
      yield pool.item(buf, pos, piece);
      pos += piece;
      buf = next;
      fill = got;
      continue;
    }
    pool.give(next);
    const length = piece - (FOOTER_SIZE - got);
    if (length > 0) yield pool.item(buf, pos, length);
    else pool.give(buf);
    pos += length;
    buf = null;
  }
  if (buf) {
    if (fill > FOOTER_SIZE) yield pool.item(buf, pos, fill - FOOTER_SIZE);
    else pool.give(buf);
  }
  const footerOffset = r.position - FOOTER_SIZE;
  const footer = endFooter(r.tail(), null);
  check(footer.diskType === DiskType.Fixed, 'BAD_LAYOUT', 'the footer at the end is a dynamic disk\'s, but there is no copy of it at the start');
  checkVirtualSize(footer, '');
  check(footer.currentSize <= footerOffset, 'TRUNCATED', `fixed disk of ${footer.currentSize} bytes in a ${r.position} byte body`);
  check(
    footer.currentSize === footerOffset,
    'BAD_LAYOUT',
    `${footerOffset - footer.currentSize} bytes between a fixed disk's data and its footer (they were imported as disk data)`,
  );
}

/** blktap's batmap header, if `sector` (at the end of the BAT) is one: its own range and its data's. */
function batmapAt(sector: Buffer, batEnd: number): { header: number; data: [number, number] | null } | null {
  if (sector.length < 512 || sector.toString('latin1', 0, 8) !== 'tdbatmap') return null;
  const off = Number(sector.readBigUInt64BE(8));
  const end = off + sector.readUInt32BE(16) * 512;
  return { header: batEnd, data: off >= batEnd + 512 ? [off, end] : null };
}

async function* dynamicBody(r: ByteReader, copy: Footer, pool: PiecePool, piece: number): AsyncGenerator<VhdStreamItem> {
  const size = copy.currentSize;
  const spool = (reason: string): VhdStreamItem => ({ kind: 'spool', reason, body: r.rest() });
  const off = copy.dataOffset;
  check(off !== null && Number.isSafeInteger(off) && off >= FOOTER_SIZE, 'BAD_LAYOUT', `dynamic header offset ${off} outside the file`);
  if (off + HEADER_SIZE > HEAD_LIMIT) return yield spool(`the dynamic header is at byte ${off}`);
  await skipTo(r, off, 'the dynamic header');
  const header = parseDynamicHeader(await exactly(r, HEADER_SIZE, 'the dynamic header'));
  const { blockSize, maxTableEntries: entries, tableOffset } = header;
  const needed = Math.ceil(size / blockSize);
  check(entries >= needed, 'BAT_TOO_SMALL', `${entries} BAT entries for ${needed} blocks`);
  check(entries <= MAX_BAT_ENTRIES, 'BAD_LAYOUT', `${entries} BAT entries is too many`);
  check(Number.isSafeInteger(tableOffset) && tableOffset >= FOOTER_SIZE, 'BAD_LAYOUT', `BAT at ${tableOffset} outside the file`);
  const batEnd = padToSector(tableOffset + entries * 4);
  check(batEnd <= off || tableOffset >= off + HEADER_SIZE, 'BAD_LAYOUT', 'BAT overlaps the headers');
  if (tableOffset < r.position) return yield spool('the BAT comes before the dynamic header');
  if (tableOffset > HEAD_LIMIT) return yield spool(`the BAT is at byte ${tableOffset}`);
  await skipTo(r, tableOffset, 'the BAT');
  const bat = parseBat(await exactly(r, entries * 4, 'the BAT'), entries);

  // Blocks in the order they arrive; every one must come after the metadata and apart from the others.
  const order: number[] = [];
  for (let i = 0; i < entries; i++) if (bat[i] !== UNUSED_BAT_ENTRY) order.push(i);
  order.sort((a, b) => bat[a]! - bat[b]!);
  const bitmapBytes = bitmapBytesFor(blockSize);
  const span = bitmapBytes + blockSize;
  const metaEnd = Math.max(off + HEADER_SIZE, batEnd);
  if (order.length > 0 && bat[order[0]!]! * 512 < metaEnd) {
    return yield spool(`block ${order[0]} lies at byte ${bat[order[0]!]! * 512}, before the end of the BAT (${metaEnd})`);
  }
  for (let k = 1; k < order.length; k++) {
    const [a, b] = [bat[order[k - 1]!]!, bat[order[k]!]!];
    if ((b - a) * 512 < span) throw new VhdError('BAT_ENTRIES_OVERLAP', `blocks at sector ${a} and ${b} overlap`);
  }
  r.stopRecording();

  for (let b = 0; b < needed;) {
    if (bat[b] !== UNUSED_BAT_ENTRY) { b++; continue; }
    let e = b;
    while (e < needed && bat[e] === UNUSED_BAT_ENTRY) e++;
    yield { kind: 'zero', offset: b * blockSize, length: Math.min(e * blockSize, size) - b * blockSize };
    b = e;
  }

  // blktap may put a batmap right after the BAT; blocks must not lie over it (checked at the end,
  // once the footer's place says whether it is one).
  let batmap: ReturnType<typeof batmapAt> = null;
  if (order.length === 0 || bat[order[0]!]! * 512 > batEnd) {
    // The gap is measured before skipping it: measured after, it is 0 and the batmap would be
    // looked for only when the BAT happens to fill its last sector.
    const gap = batEnd - r.position;
    if ((await r.skip(gap)) === gap) batmap = batmapAt(await r.read(512), batEnd);
  }
  const overBatmap: Array<{ block: number; what: 'header' | 'data' }> = [];
  let requiredEnd = Math.max(off + HEADER_SIZE, tableOffset + entries * 4);
  const pieces = order.filter((b) => b < needed).length * Math.ceil(blockSize / piece);
  let done = 0;
  for (const b of order) {
    const start = bat[b]! * 512;
    await skipTo(r, start, `block ${b}`);
    const bitmap = await exactly(r, bitmapBytes, `the bitmap of block ${b}`);
    if (start === batEnd) batmap = batmapAt(bitmap, batEnd);
    // Known by now: the batmap header is at the end of the BAT, before or at the first block.
    if (batmap && start === batmap.header) overBatmap.push({ block: b, what: 'header' });
    else if (batmap?.data && start < batmap.data[1] && batmap.data[0] < start + span) overBatmap.push({ block: b, what: 'data' });
    for (let p = 0; p < blockSize; p += piece) {
      const n = Math.min(piece, blockSize - p);
      const at = b * blockSize + p;
      if (at >= size) {
        await skipTo(r, r.position + n, `block ${b}`);
        continue;
      }
      const buf = await pool.take();
      let got: number;
      try {
        got = await r.readInto(buf, 0, n);
      } catch (e) {
        pool.give(buf);
        throw e;
      }
      if (got < n) {
        pool.give(buf);
        throw truncated(`block ${b}`, r.position);
      }
      const length = Math.min(n, size - at);
      applyBitmap(bitmap, p / 512, buf, length);
      yield pool.item(buf, at, length, ++done / pieces);
    }
    requiredEnd = Math.max(requiredEnd, start + span);
  }

  await r.skipToEnd();
  const footerOffset = r.position - FOOTER_SIZE;
  if (footerOffset < requiredEnd) throw truncated('the footer', r.position);
  const footer = endFooter(r.tail(), copy);
  check(
    footer.currentSize === copy.currentSize && footer.diskType === copy.diskType && footer.dataOffset === copy.dataOffset,
    'BAD_LAYOUT',
    `the footer at the end (${footer.currentSize} bytes, type ${footer.diskType}) differs from its copy at the start (${copy.currentSize} bytes, type ${copy.diskType})`,
  );
  // As `vhd-open.ts` sees it: a batmap only with room before the footer, its data only inside the file.
  if (batmap && batEnd + 512 <= footerOffset) {
    const hit = overBatmap.find((o) => o.what === 'header' || batmap!.data![1] <= footerOffset);
    if (hit) throw new VhdError('BAT_ENTRY_IN_METADATA', `BAT entry ${hit.block} overlaps the ${hit.what === 'header' ? 'batmap header' : 'batmap'}`);
  }
}

/**
 * The items of a VHD body, as described in the module header. The consumer must `release`
 * every data item it is given, and may hold at most two at a time. `piece` (2 MiB) is the
 * largest data item, and the size of each buffer the reader keeps.
 */
export async function* readVhdStream(body: ByteSource, opts: { piece?: number } = {}): AsyncGenerator<VhdStreamItem> {
  const piece = opts.piece ?? PIECE;
  const r = new ByteReader(body);
  r.startRecording();
  const first = await r.read(FOOTER_SIZE);
  check(first.length === FOOTER_SIZE, 'TRUNCATED', `a body of ${first.length} bytes has no footer`);
  const pool = new PiecePool(BUFFERS, piece);
  if (first.toString('latin1', 0, 8) !== FOOTER_COOKIE) {
    r.stopRecording();
    return yield* fixedBody(r, first, pool, piece);
  }
  const copy = parseFooter(first);
  if (copy.diskType === DiskType.Fixed) {
    // A fixed disk whose first sector happens to hold a fixed disk's footer: data like any other.
    r.stopRecording();
    return yield* fixedBody(r, first, pool, piece);
  }
  checkVirtualSize(copy, '');
  yield { kind: 'disk', size: copy.currentSize, isDifferencing: copy.diskType === DiskType.Differencing };
  yield* dynamicBody(r, copy, pool, piece);
}
