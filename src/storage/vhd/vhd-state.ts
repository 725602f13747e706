/**
 * @module
 * The in-memory state of one open VHD file, shared by the modules that read, write and
 * rewrite it, with the low-level I/O they all need: whole-buffer positioned reads and writes,
 * cached block bitmaps, and the rule that the footer is always the last 512 bytes of the file.
 */
import { read, write } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { BitmapCache } from './bitmap-cache.js';
import type { DynamicHeader } from './dynamic-header.js';
import { VhdError } from './errors.js';
import { FOOTER_SIZE, serializeFooter, type Footer } from './footer.js';
import { KeyedLock } from './keyed-lock.js';
import type { ByteRange } from './layout.js';
import { WriteGatherer } from '../write-gatherer.js';

/** Bytes of bitmaps cached per file: 16384 × 512 B, covering 32 GiB of 2 MiB blocks. */
export const BITMAP_CACHE_BYTES = 8 * 1024 * 1024;

export interface VhdState {
  readonly path: string;
  readonly fh: FileHandle;
  readonly readOnly: boolean;
  footer: Footer;
  /** Null for fixed disks. */
  header: DynamicHeader | null;
  /** Block → sector offset of its bitmap; null for fixed disks. */
  bat: Uint32Array | null;
  /** Where the footer at the end of the file is; the file is exactly this + 512 bytes long. */
  footerOffset: number;
  /** End of the area used by metadata and blocks; new blocks go after it. */
  dataEnd: number;
  metadata: ByteRange[];
  bitmapBytes: number;
  sectorsPerBlock: number;
  readonly bitmaps: BitmapCache;
  /** Blocks being allocated: writers to them wait until their bitmap and BAT entry are on disk. */
  readonly allocations: Map<number, Promise<void>>;
  /** Key 0 serialises allocation and header/footer rewrites. */
  readonly metaLock: KeyedLock;
  /** Data writes, gathered per event-loop turn. */
  readonly data: WriteGatherer;
  closed: boolean;
}

export function newCaches(fh: FileHandle, bitmapBytes: number): Pick<VhdState, 'bitmaps' | 'allocations' | 'metaLock' | 'data'> {
  const entries = Math.max(64, Math.floor(BITMAP_CACHE_BYTES / Math.max(512, bitmapBytes)));
  return {
    bitmaps: new BitmapCache(entries),
    allocations: new Map(),
    metaLock: new KeyedLock(),
    data: new WriteGatherer(() => fh.fd),
  };
}

export function assertOpen(st: VhdState): void {
  if (st.closed) throw new VhdError('CLOSED', 'VHD is closed', st.path);
}

export function assertWritable(st: VhdState): void {
  assertOpen(st);
  if (st.readOnly) throw new VhdError('READ_ONLY', 'VHD is open read-only', st.path);
}

function pread(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}

function pwrite(fd: number, data: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, data, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}

/**
 * Reads exactly `length` bytes at `position` into `buf`; bytes past EOF read as zeros.
 * Goes through the callback API on the handle's descriptor, as one positioned read and one
 * promise unless it comes back short: on the data path every layer of promises (the
 * `FileHandle` methods', an async loop's) costs measurable CPU per request, and a read of a
 * deep chain makes several per request, plus thousands of bitmap reads just after opening.
 */
export function readFully(fh: FileHandle, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  if (length === 0) return Promise.resolve();
  return new Promise((resolve, reject) =>
    read(fh.fd, buf, offset, length, position, (e, n) => {
      if (e) reject(e);
      else if (n === length) resolve();
      else readRest(fh, buf, offset + n, length - n, position + n, n).then(resolve, reject);
    }),
  );
}

/** The rest of a read that came back short (`last` bytes read by the previous attempt). */
async function readRest(fh: FileHandle, buf: Buffer, offset: number, length: number, position: number, last: number): Promise<void> {
  let done = 0;
  while (done < length) {
    if (last === 0) {
      buf.fill(0, offset + done, offset + length);
      return;
    }
    last = await pread(fh.fd, buf, offset + done, length - done, position + done);
    done += last;
  }
}

export function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  return readFully(fh, buf, 0, length, position).then(() => buf);
}

export async function writeFully(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) done += await pwrite(fh.fd, data, done, data.length - done, position + done);
}

/**
 * Like `Promise.all`, but settles only once every operation has: callers recycle the buffers
 * those read into or write from as soon as this rejects, which must not be while some still run.
 */
export function settleAll(ps: Promise<unknown>[]): Promise<void> {
  // Counted by hand: a chain read joins several piece reads per request, and `allSettled`
  // builds a result object per operation that nobody reads.
  return new Promise((resolve, reject) => {
    let left = ps.length;
    let failure: { reason: unknown } | undefined;
    if (left === 0) return resolve();
    const settled = (): void => {
      if (--left === 0) failure ? reject(failure.reason) : resolve();
    };
    const failed = (e: unknown): void => {
      failure ??= { reason: e };
      settled();
    };
    for (const p of ps) p.then(settled, failed);
  });
}

/** The block's bitmap, from memory or disk. The caller has checked the block is allocated. */
export function readBitmap(st: VhdState, block: number): Promise<Buffer> {
  const hit = st.bitmaps.peek(block);
  if (hit) return Promise.resolve(hit);
  return st.bitmaps.get(block, () => readAt(st.fh, st.bat![block]! * 512, st.bitmapBytes));
}

/**
 * Makes the file end at `end` + 512 with a valid footer, before anything is written past the
 * old footer: a crash at any later point still leaves the footer where readers look for it.
 */
export async function ensureFooterAt(st: VhdState, end: number): Promise<void> {
  if (end <= st.footerOffset) return;
  await writeFully(st.fh, serializeFooter(st.footer), end);
  st.footerOffset = end;
}

/** Rewrites the footer at the end and, for dynamic disks, its copy at offset 0. */
export async function writeFooters(st: VhdState): Promise<void> {
  const buf = serializeFooter(st.footer);
  st.footer = { ...st.footer, checksum: buf.readUInt32BE(64) };
  await writeFully(st.fh, buf, st.footerOffset);
  if (st.header) await writeFully(st.fh, buf, 0);
}

export { FOOTER_SIZE };
