/**
 * @module
 * Gets an update file back out of a virtual disk. `pool_update.introduce` takes a VDI into
 * which the `.xsupdate` (or the distribution `.zip`) was written raw from offset 0, as
 * `PUT /import_raw_vdi` of the file leaves it: the file, then zeroes up to the disk's
 * virtual size. A disk has no file length, but a zip archive says where it ends: its
 * end-of-central-directory record is the last thing in it, 22 bytes plus a comment whose
 * length the record gives. So the reader finds the last byte that is not zero (through the
 * disk's block status first, so a thin disk's unwritten tail is never read), looks for that
 * record just before it, and copies the bytes up to the record's end into a private file,
 * which then goes through the same verification as an upload. Anything else on the disk
 * (an ISO, as xapi's updates were, or nothing) is refused with INVALID_UPDATE.
 */
import { open } from 'node:fs/promises';
import { ApiError } from '../core/api-error.js';
import type { BlockDevice } from '../core/ports/block-device.js';

const WINDOW = 1024 ** 3;
const CHUNK = 1024 * 1024;
const EOCD_SIGNATURE = 0x06054b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

const notAnUpdate = (why: string) => new ApiError('INVALID_UPDATE', [why]);

/** One past the last byte of the device that is not zero; 0 for a disk of zeroes. */
async function dataEnd(dev: BlockDevice, signal?: AbortSignal): Promise<number> {
  let end = 0;
  for (let w = 0; w < dev.size; w += WINDOW) {
    for (const e of await dev.blockStatus(w, Math.min(WINDOW, dev.size - w))) if (!e.zero) end = e.offset + e.length;
  }
  // Extents are coarse (a block allocated for a few bytes): find the last non-zero byte.
  while (end > 0) {
    signal?.throwIfAborted();
    const from = Math.max(0, end - CHUNK);
    const buf = await dev.read(from, end - from);
    for (let i = buf.length - 1; i >= 0; i--) if (buf[i] !== 0) return from + i + 1;
    end = from;
  }
  return 0;
}

/**
 * Where the zip archive at the start of the device ends: the end of the last
 * end-of-central-directory record that reaches past `last` (the data's end; the record's own
 * last bytes, such as a zero comment length, may be zeroes) and fits on the device.
 */
async function zipEnd(dev: BlockDevice, last: number): Promise<number | undefined> {
  const from = Math.max(0, last - EOCD_SIZE - MAX_COMMENT);
  const to = Math.min(dev.size, last + EOCD_SIZE);
  const buf = await dev.read(from, to - from);
  for (let p = Math.min(last - from - 4, buf.length - EOCD_SIZE); p >= 0; p--) {
    if (buf.readUInt32LE(p) !== EOCD_SIGNATURE) continue;
    const end = from + p + EOCD_SIZE + buf.readUInt16LE(p + 20);
    if (end >= last && end <= dev.size) return end;
  }
  return undefined;
}

/**
 * Copies the update file held at the start of `dev` to `dest` (created, mode 0600; the caller
 * removes it whatever happens); returns its length. INVALID_UPDATE when the disk holds no zip
 * archive, or one larger than `maxBytes`.
 */
export async function copyUpdateFromDevice(dev: BlockDevice, dest: string, maxBytes: number, o: {
  signal?: AbortSignal; progress?: (f: number) => void;
} = {}): Promise<number> {
  const last = await dataEnd(dev, o.signal);
  if (last === 0) throw notAnUpdate('the VDI holds nothing (it reads as zeroes)');
  const end = await zipEnd(dev, last);
  if (end === undefined) throw notAnUpdate('the VDI does not hold an update file (a zip archive written from its first byte)');
  if (end > maxBytes) throw notAnUpdate(`the update file is larger than the ${maxBytes}-byte limit`);
  const fh = await open(dest, 'wx', 0o600);
  try {
    for (let p = 0; p < end; p += CHUNK) {
      o.signal?.throwIfAborted();
      const n = Math.min(CHUNK, end - p);
      await fh.write(await dev.read(p, n), 0, n, p);
      o.progress?.((p + n) / end);
    }
  } finally {
    await fh.close();
  }
  return end;
}
