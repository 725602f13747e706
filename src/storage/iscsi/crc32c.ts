/**
 * @module
 * CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 §13.1): reflected
 * polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF. Node ships no CRC32C,
 * so this is a slicing-by-8 table implementation, fast enough for digests on every PDU.
 */
const POLY = 0x82f63b78;
const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let t = 1; t < 8; t++) T[t * 256 + n] = (T[(t - 1) * 256 + n]! >>> 8) ^ T[T[(t - 1) * 256 + n]! & 0xff]!;
}

/** Continues a CRC over `buf` (pass the previous result to chain buffers). */
export function crc32c(buf: Uint8Array, previous = 0): number {
  let c = ~previous;
  let i = 0;
  const n = buf.length;
  const end8 = n - (n % 8);
  for (; i < end8; i += 8) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c =
      T[7 * 256 + (c & 0xff)]! ^ T[6 * 256 + ((c >>> 8) & 0xff)]! ^ T[5 * 256 + ((c >>> 16) & 0xff)]! ^
      T[4 * 256 + (c >>> 24)]! ^ T[3 * 256 + buf[i + 4]!]! ^ T[2 * 256 + buf[i + 5]!]! ^
      T[256 + buf[i + 6]!]! ^ T[buf[i + 7]!]!;
  }
  for (; i < n; i++) c = T[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** The 4 digest bytes as they go on the wire: least significant byte first. */
export function digestBytes(crc: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(crc >>> 0, 0);
  return b;
}
