/**
 * @module
 * Creating VHD files. Dynamic and differencing disks are laid out as blktap does: footer copy,
 * dynamic header at 512, BAT at 1536 (padded to a sector), parent locators after the BAT, and
 * the footer right after; an empty disk costs about 4 KiB plus 4 bytes per 2 MiB of virtual
 * size. Fixed disks are thick: every byte of the virtual size is written.
 */
import { randomUUID } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { padToSector } from './bat.js';
import {
  DEFAULT_BLOCK_SIZE,
  HEADER_SIZE,
  isPowerOfTwo,
  MAX_BLOCK_SIZE,
  MIN_BLOCK_SIZE,
  newDynamicHeader,
  parseDynamicHeader,
  serializeDynamicHeader,
  UNUSED_BAT_ENTRY,
  type DynamicHeader,
} from './dynamic-header.js';
import { check } from './errors.js';
import { DiskType, FOOTER_SIZE, MAX_VHD_SIZE, newFooter, parseFooter, serializeFooter, type Footer } from './footer.js';
import { encodeLocator, locatorSpaceFor, parentUnicodeName, relativeParentPath, WRITTEN_LOCATOR_CODES } from './parent-locator.js';
import { vhdTimestamp } from './uuid-bytes.js';
import { readAt, writeFully } from './vhd-state.js';

export interface CreateOptions {
  blockSize?: number;
  uuid?: string;
}

const TABLE_OFFSET = FOOTER_SIZE + HEADER_SIZE;
/** Every byte of an unused entry (0xFFFFFFFF). */
const UNUSED_BAT_BYTE = UNUSED_BAT_ENTRY & 0xff;
const ZERO_CHUNK = 8 * 1024 * 1024;

function checkSize(size: number): void {
  check(Number.isSafeInteger(size) && size >= 0 && size % 512 === 0, 'INVALID_ARGUMENT', `size ${size} is not a whole number of sectors`);
  check(size <= MAX_VHD_SIZE, 'BAD_SIZE', `size ${size} exceeds 2040 GiB`);
}

/** Writes `parts`, back to back from offset 0, into a new file; never replaces an existing one. */
async function writeNew(path: string, parts: readonly Buffer[]): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    // One gathered write: a 2 TiB disk's empty BAT (4 MiB) is never copied into a new buffer.
    const total = parts.reduce((n, b) => n + b.length, 0);
    const { bytesWritten } = await fh.writev(parts as Buffer[], 0);
    if (bytesWritten < total) await writeFully(fh, Buffer.concat(parts as Buffer[]).subarray(bytesWritten), bytesWritten);
  } finally {
    await fh.close();
  }
}

/** Unused entries only; shared and never written to, grown to the largest table asked for. */
let unusedEntries = Buffer.alloc(0);

/** The on-disk BAT of `bytes` bytes with every entry unused. */
function emptyBat(bytes: number): Buffer {
  if (unusedEntries.length < bytes) unusedEntries = Buffer.alloc(bytes, UNUSED_BAT_BYTE);
  return unusedEntries.subarray(0, bytes);
}

export async function createDynamic(path: string, virtualSize: number, opts: CreateOptions = {}): Promise<void> {
  checkSize(virtualSize);
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  check(isPowerOfTwo(blockSize) && blockSize >= MIN_BLOCK_SIZE && blockSize <= MAX_BLOCK_SIZE, 'UNSUPPORTED_BLOCK_SIZE', `block size ${blockSize}`);
  const entries = Math.ceil(virtualSize / blockSize);
  const batBytes = padToSector(entries * 4);
  const footer = serializeFooter(newFooter(DiskType.Dynamic, virtualSize, opts.uuid ?? randomUUID()));
  const header = serializeDynamicHeader(newDynamicHeader(TABLE_OFFSET, entries, blockSize));
  await writeNew(path, [footer, header, emptyBat(batBytes), footer]);
}

/**
 * The parent's footer and header only: a child needs its uuid, size and block size, and
 * reading (and checking) the parent's whole BAT would make a snapshot cost grow with the
 * disk's size. The parent is checked in full whenever a chain through it is opened.
 */
async function readParent(parentPath: string): Promise<{ footer: Footer; header: DynamicHeader | null }> {
  const fh = await open(parentPath, 'r');
  try {
    const { size } = await fh.stat();
    check(size >= FOOTER_SIZE, 'TRUNCATED', `file of ${size} bytes has no footer`, parentPath);
    const footer = parseFooter(await readAt(fh, size - FOOTER_SIZE, FOOTER_SIZE), parentPath);
    if (footer.diskType === DiskType.Fixed) return { footer, header: null };
    check(footer.dataOffset !== null && footer.dataOffset + HEADER_SIZE <= size, 'BAD_LAYOUT', 'dynamic header outside the file', parentPath);
    return { footer, header: parseDynamicHeader(await readAt(fh, footer.dataOffset, HEADER_SIZE), parentPath) };
  } finally {
    await fh.close();
  }
}

/**
 * An empty child of `parentPath`. Its block size is the parent's unless `blockSize` says
 * otherwise: a child nothing will write (a read-only snapshot) may take large blocks, so its
 * block table, which is all it holds, stays small however large the disk.
 */
export async function createDifferencing(path: string, parentPath: string, opts: { uuid?: string; blockSize?: number } = {}): Promise<void> {
  const parent = await readParent(parentPath);
  const parentMtime = (await stat(parentPath)).mtime;
  const size = parent.footer.currentSize;
  const blockSize = opts.blockSize ?? parent.header?.blockSize ?? DEFAULT_BLOCK_SIZE;
  check(isPowerOfTwo(blockSize) && blockSize >= MIN_BLOCK_SIZE && blockSize <= MAX_BLOCK_SIZE, 'UNSUPPORTED_BLOCK_SIZE', `block size ${blockSize}`);
  const entries = Math.ceil(size / blockSize);
  const batBytes = padToSector(entries * 4);
  const hdr = newDynamicHeader(TABLE_OFFSET, entries, blockSize);
  hdr.parentUuid = parent.footer.uuid;
  hdr.parentTimestamp = vhdTimestamp(parentMtime);
  hdr.parentUnicodeName = parentUnicodeName(parentPath);
  const rel = relativeParentPath(path, parentPath);
  const payloads: Buffer[] = [];
  let at = TABLE_OFFSET + batBytes;
  WRITTEN_LOCATOR_CODES.forEach((code, i) => {
    const payload = encodeLocator(code, rel);
    const space = locatorSpaceFor(payload);
    hdr.locators[i] = { code, dataSpace: space, dataLength: payload.length, dataOffset: at };
    const padded = Buffer.alloc(space);
    payload.copy(padded);
    payloads.push(padded);
    at += space;
  });
  const footer = serializeFooter(newFooter(DiskType.Differencing, size, opts.uuid ?? randomUUID()));
  await writeNew(path, [footer, serializeDynamicHeader(hdr), emptyBat(batBytes), ...payloads, footer]);
}

/** A thick disk: zeros are written over the whole virtual size so the space is really taken. */
export async function createFixed(path: string, virtualSize: number, opts: { uuid?: string } = {}): Promise<void> {
  checkSize(virtualSize);
  const fh = await open(path, 'wx');
  try {
    const zeros = Buffer.alloc(Math.min(ZERO_CHUNK, Math.max(virtualSize, 1)));
    for (let at = 0; at < virtualSize; at += zeros.length) {
      await writeFully(fh, zeros.subarray(0, Math.min(zeros.length, virtualSize - at)), at);
    }
    await writeFully(fh, serializeFooter(newFooter(DiskType.Fixed, virtualSize, opts.uuid ?? randomUUID())), virtualSize);
  } finally {
    await fh.close();
  }
}
