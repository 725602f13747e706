/**
 * @module
 * Opening an untrusted VHD: read and check the footer, then for dynamic and differencing
 * disks the header, the BAT and every BAT entry, before any data is served. Every rule
 * broken is a `VhdError`; memory used is bounded by the file's own size.
 */
import { open, stat } from 'node:fs/promises';
import { parseBat } from './bat.js';
import { parseDynamicHeader, HEADER_SIZE } from './dynamic-header.js';
import { check, VhdError } from './errors.js';
import { DiskType, FOOTER_SIZE, parseFooter, type Footer } from './footer.js';
import {
  bitmapBytesFor,
  checkBatEntries,
  checkBatPlacement,
  checkHeaderPlacement,
  checkVirtualSize,
  metadataRanges,
  type ByteRange,
} from './layout.js';
import { newCaches, readAt, type VhdState } from './vhd-state.js';
import type { FileHandle } from 'node:fs/promises';

const BATMAP_COOKIE = 'tdbatmap';

/** blktap's optional batmap (one bit per fully allocated block) right after the BAT. */
async function findBatmap(fh: FileHandle, bat: ByteRange, footerOffset: number): Promise<ByteRange[]> {
  if (bat.end + 512 > footerOffset) return [];
  const hdr = await readAt(fh, bat.end, 512);
  if (hdr.toString('latin1', 0, 8) !== BATMAP_COOKIE) return [];
  const ranges = [{ start: bat.end, end: bat.end + 512, what: 'batmap header' }];
  const off = Number(hdr.readBigUInt64BE(8));
  const end = off + hdr.readUInt32BE(16) * 512;
  if (off >= bat.end + 512 && end <= footerOffset) ranges.push({ start: off, end, what: 'batmap' });
  return ranges;
}

/** The footer at the end; a missing one with a valid copy at 0 means the file was cut short. */
async function readFooter(fh: FileHandle, footerOffset: number, path: string): Promise<Footer> {
  try {
    return parseFooter(await readAt(fh, footerOffset, FOOTER_SIZE), path);
  } catch (e) {
    if (!(e instanceof VhdError) || e.code !== 'BAD_COOKIE' || footerOffset === 0) throw e;
    let copy: Footer | null = null;
    try {
      copy = parseFooter(await readAt(fh, 0, FOOTER_SIZE), path);
    } catch {
      throw e;
    }
    if (copy.diskType === DiskType.Fixed) throw e;
    throw new VhdError('TRUNCATED', `no valid footer at the end (${e.code}) but a valid copy at offset 0`, path);
  }
}

export async function openState(path: string, readOnly: boolean): Promise<VhdState> {
  // Opening a FIFO would block forever; a VHD lives in a regular file.
  check((await stat(path)).isFile(), 'INVALID_ARGUMENT', 'not a regular file', path);
  const fh = await open(path, readOnly ? 'r' : 'r+');
  try {
    const { size: fileSize } = await fh.stat();
    check(fileSize >= FOOTER_SIZE, 'TRUNCATED', `file of ${fileSize} bytes has no footer`, path);
    const footerOffset = fileSize - FOOTER_SIZE;
    const footer = await readFooter(fh, footerOffset, path);
    checkVirtualSize(footer, path);
    const base = { path, fh, readOnly, footer, footerOffset, closed: false };
    if (footer.diskType === DiskType.Fixed) {
      check(footer.currentSize <= footerOffset, 'TRUNCATED', `fixed disk of ${footer.currentSize} bytes in a ${fileSize} byte file`, path);
      return { ...base, ...newCaches(fh, 0), header: null, bat: null, dataEnd: footer.currentSize, metadata: [], bitmapBytes: 0, sectorsPerBlock: 0 };
    }
    const headerOffset = checkHeaderPlacement(footer, fileSize, path);
    const header = parseDynamicHeader(await readAt(fh, headerOffset, HEADER_SIZE), path);
    const batRange = checkBatPlacement(footer, header, fileSize, path);
    const bat = parseBat(await readAt(fh, header.tableOffset, header.maxTableEntries * 4), header.maxTableEntries);
    const batmap = await findBatmap(fh, batRange, footerOffset);
    const metadata = metadataRanges(footer, header, batRange, batmap, fileSize);
    const bitmapBytes = bitmapBytesFor(header.blockSize);
    const dataEnd = checkBatEntries(bat, bitmapBytes + header.blockSize, metadata, footerOffset, path);
    return { ...base, ...newCaches(fh, bitmapBytes), header, bat, dataEnd, metadata, bitmapBytes, sectorsPerBlock: header.blockSize / 512 };
  } catch (e) {
    await fh.close();
    throw e;
  }
}
