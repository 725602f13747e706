/**
 * @module
 * The block allocation table: one big-endian u32 per block giving the sector offset of the
 * block's sector bitmap (the data follows it), 0xFFFFFFFF for a block never written. Kept in
 * memory as a `Uint32Array` in host order; on disk it is padded to a whole sector of
 * unused entries, which is room to grow the disk without moving anything.
 */
import { UNUSED_BAT_ENTRY } from './dynamic-header.js';

export { UNUSED_BAT_ENTRY };

export function padToSector(n: number): number {
  return Math.ceil(n / 512) * 512;
}

/** Entries the padded on-disk BAT of `entries` entries can hold. */
export function batCapacity(entries: number): number {
  return padToSector(entries * 4) / 4;
}

// Whole-table byte swaps (native) instead of a JS loop per entry: a 2 TiB disk has a
// million entries, and snapshotting or opening it should not cost a loop over them.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function parseBat(buf: Buffer, entries: number): Uint32Array {
  const bat = new Uint32Array(entries);
  const view = Buffer.from(bat.buffer, bat.byteOffset, entries * 4);
  buf.copy(view, 0, 0, entries * 4);
  if (LITTLE_ENDIAN) view.swap32();
  return bat;
}

/** The on-disk BAT for `bat`, padded with unused entries to `bytes` (a sector multiple). */
export function serializeBat(bat: Uint32Array, bytes = padToSector(bat.length * 4)): Buffer {
  const buf = Buffer.alloc(bytes, 0xff);
  Buffer.from(bat.buffer, bat.byteOffset, bat.length * 4).copy(buf);
  if (LITTLE_ENDIAN) buf.subarray(0, bat.length * 4).swap32();
  return buf;
}

export function batEntryBytes(entry: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(entry >>> 0);
  return b;
}
