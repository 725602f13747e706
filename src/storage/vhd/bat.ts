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

export function parseBat(buf: Buffer, entries: number): Uint32Array {
  const bat = new Uint32Array(entries);
  for (let i = 0; i < entries; i++) bat[i] = buf.readUInt32BE(i * 4);
  return bat;
}

/** The on-disk BAT for `bat`, padded with unused entries to `bytes` (a sector multiple). */
export function serializeBat(bat: Uint32Array, bytes = padToSector(bat.length * 4)): Buffer {
  const buf = Buffer.alloc(bytes, 0xff);
  for (let i = 0; i < bat.length; i++) buf.writeUInt32BE(bat[i]!, i * 4);
  return buf;
}

export function batEntryBytes(entry: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(entry >>> 0);
  return b;
}
