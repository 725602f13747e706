/**
 * @module
 * The in-memory state of one open VHD file, shared by the modules that read, write and
 * rewrite it, with the low-level I/O they all need: whole-buffer positioned reads and writes,
 * cached block bitmaps, and the rule that the footer is always the last 512 bytes of the file.
 */
import type { FileHandle } from 'node:fs/promises';
import type { DynamicHeader } from './dynamic-header.js';
import { VhdError } from './errors.js';
import { FOOTER_SIZE, serializeFooter, type Footer } from './footer.js';
import { KeyedLock } from './keyed-lock.js';
import type { ByteRange } from './layout.js';
import { LruMap } from './lru-map.js';

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
  readonly bitmaps: LruMap<number, Buffer>;
  readonly blockLocks: KeyedLock;
  /** Key 0 serialises allocation and header/footer rewrites. */
  readonly metaLock: KeyedLock;
  closed: boolean;
}

export function newCaches(bitmapBytes: number): Pick<VhdState, 'bitmaps' | 'blockLocks' | 'metaLock'> {
  const entries = Math.max(64, Math.floor(BITMAP_CACHE_BYTES / Math.max(512, bitmapBytes)));
  return { bitmaps: new LruMap(entries), blockLocks: new KeyedLock(), metaLock: new KeyedLock() };
}

export function assertOpen(st: VhdState): void {
  if (st.closed) throw new VhdError('CLOSED', 'VHD is closed', st.path);
}

export function assertWritable(st: VhdState): void {
  assertOpen(st);
  if (st.readOnly) throw new VhdError('READ_ONLY', 'VHD is open read-only', st.path);
}

/** Reads exactly `length` bytes at `position` into `buf`; bytes past EOF read as zeros. */
export async function readFully(fh: FileHandle, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, offset + done, length - done, position + done);
    if (bytesRead === 0) {
      buf.fill(0, offset + done, offset + length);
      return;
    }
    done += bytesRead;
  }
}

export async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  await readFully(fh, buf, 0, length, position);
  return buf;
}

export async function writeFully(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** The block's bitmap, from cache or disk. The caller has checked the block is allocated. */
export async function readBitmap(st: VhdState, block: number): Promise<Buffer> {
  const cached = st.bitmaps.get(block);
  if (cached) return cached;
  const bm = await readAt(st.fh, st.bat![block]! * 512, st.bitmapBytes);
  // A writer may have cached a newer copy while we read; its copy is the authoritative one.
  const raced = st.bitmaps.get(block);
  if (raced) return raced;
  st.bitmaps.set(block, bm);
  return bm;
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
