/**
 * @module
 * The VHD checksum: the one's complement of the byte sum of a structure, taken with its own
 * checksum field counted as zero. Footer and dynamic header both use it.
 */

/** Checksum of `buf` as it would be with the 4 bytes at `fieldOffset` zeroed. */
export function vhdChecksum(buf: Uint8Array, fieldOffset: number): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i++) {
    if (i >= fieldOffset && i < fieldOffset + 4) continue;
    sum += buf[i]!;
  }
  return ~sum >>> 0;
}
