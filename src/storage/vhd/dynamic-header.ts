/**
 * @module
 * The 1024-byte dynamic disk header (`cxsparse`) of dynamic and differencing VHDs: where the
 * BAT is, how many entries it has, the block size, and for differencing disks the parent's
 * UUID, timestamp, unicode name and the eight parent locator entries.
 */
import { vhdChecksum } from './checksum.js';
import { check } from './errors.js';
import { NIL_UUID, uuidFromBytes, uuidToBytes } from './uuid-bytes.js';

export const HEADER_SIZE = 1024;
export const HEADER_COOKIE = 'cxsparse';
export const HEADER_VERSION = 0x00010000;
export const DEFAULT_BLOCK_SIZE = 2 * 1024 * 1024;
/** Block sizes accepted from files: powers of two whose bitmap is whole bytes, up to 256 MiB. */
export const MIN_BLOCK_SIZE = 4096;
export const MAX_BLOCK_SIZE = 256 * 1024 * 1024;
export const UNUSED_BAT_ENTRY = 0xffffffff;

export const PlatformCode = {
  None: 0,
  Wi2r: 0x57693272,
  Wi2k: 0x5769326b,
  W2ru: 0x57327275,
  W2ku: 0x57326b75,
  Mac: 0x4d616320,
  MacX: 0x4d616358,
} as const;
export type PlatformCode = (typeof PlatformCode)[keyof typeof PlatformCode];

export interface ParentLocatorEntry {
  code: number;
  /** As stored: sectors per the spec, bytes as blktap and Microsoft write it. */
  dataSpace: number;
  dataLength: number;
  dataOffset: number;
}

export interface DynamicHeader {
  tableOffset: number;
  headerVersion: number;
  maxTableEntries: number;
  blockSize: number;
  checksum: number;
  parentUuid: string;
  parentTimestamp: number;
  parentUnicodeName: string;
  locators: ParentLocatorEntry[];
}

const CHECKSUM_AT = 36;
const NAME_AT = 64;
const NAME_SIZE = 512;
const LOCATORS_AT = 576;

export function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isInteger(n) && (n & (n - 1)) === 0;
}

/** Bytes a locator reserves: `dataSpace` below 512 counts sectors, otherwise bytes (blktap rule). */
export function locatorSpace(loc: ParentLocatorEntry): number {
  return loc.dataSpace < 512 ? loc.dataSpace * 512 : loc.dataSpace;
}

function decodeUtf16be(buf: Buffer): string {
  let end = 0;
  while (end + 1 < buf.length && (buf[end] !== 0 || buf[end + 1] !== 0)) end += 2;
  const le = Buffer.from(buf.subarray(0, end));
  le.swap16();
  return le.toString('utf16le');
}

/** Decodes and checks cookie, checksum, version and block size of a dynamic header. */
export function parseDynamicHeader(buf: Buffer, path?: string): DynamicHeader {
  check(buf.length >= HEADER_SIZE, 'TRUNCATED', 'dynamic header shorter than 1024 bytes', path);
  const h = buf.subarray(0, HEADER_SIZE);
  check(h.toString('latin1', 0, 8) === HEADER_COOKIE, 'BAD_COOKIE', 'dynamic header cookie is not "cxsparse"', path);
  const checksum = h.readUInt32BE(CHECKSUM_AT);
  check(vhdChecksum(h, CHECKSUM_AT) === checksum, 'BAD_HEADER_CHECKSUM', 'dynamic header checksum mismatch', path);
  const headerVersion = h.readUInt32BE(24);
  check(headerVersion >>> 16 === 1, 'UNSUPPORTED_VERSION', `dynamic header version 0x${headerVersion.toString(16)}`, path);
  const blockSize = h.readUInt32BE(32);
  check(
    isPowerOfTwo(blockSize) && blockSize >= MIN_BLOCK_SIZE && blockSize <= MAX_BLOCK_SIZE,
    'UNSUPPORTED_BLOCK_SIZE',
    `block size ${blockSize}`,
    path,
  );
  const locators: ParentLocatorEntry[] = [];
  for (let i = 0; i < 8; i++) {
    const at = LOCATORS_AT + i * 24;
    locators.push({
      code: h.readUInt32BE(at),
      dataSpace: h.readUInt32BE(at + 4),
      dataLength: h.readUInt32BE(at + 8),
      dataOffset: Number(h.readBigUInt64BE(at + 16)),
    });
  }
  return {
    tableOffset: Number(h.readBigUInt64BE(16)),
    headerVersion,
    maxTableEntries: h.readUInt32BE(28),
    blockSize,
    checksum,
    parentUuid: uuidFromBytes(h.subarray(40, 56)),
    parentTimestamp: h.readUInt32BE(56),
    parentUnicodeName: decodeUtf16be(h.subarray(NAME_AT, NAME_AT + NAME_SIZE)),
    locators,
  };
}

export function serializeDynamicHeader(hdr: DynamicHeader): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  b.write(HEADER_COOKIE, 0, 'latin1');
  b.writeBigUInt64BE(0xffffffffffffffffn, 8);
  b.writeBigUInt64BE(BigInt(hdr.tableOffset), 16);
  b.writeUInt32BE(hdr.headerVersion >>> 0, 24);
  b.writeUInt32BE(hdr.maxTableEntries >>> 0, 28);
  b.writeUInt32BE(hdr.blockSize >>> 0, 32);
  uuidToBytes(hdr.parentUuid).copy(b, 40);
  b.writeUInt32BE(hdr.parentTimestamp >>> 0, 56);
  const name = Buffer.from(hdr.parentUnicodeName, 'utf16le');
  name.swap16();
  name.copy(b, NAME_AT, 0, Math.min(name.length, NAME_SIZE - 2));
  hdr.locators.slice(0, 8).forEach((loc, i) => {
    const at = LOCATORS_AT + i * 24;
    b.writeUInt32BE(loc.code >>> 0, at);
    b.writeUInt32BE(loc.dataSpace >>> 0, at + 4);
    b.writeUInt32BE(loc.dataLength >>> 0, at + 8);
    b.writeBigUInt64BE(BigInt(loc.dataOffset), at + 16);
  });
  b.writeUInt32BE(vhdChecksum(b, CHECKSUM_AT), CHECKSUM_AT);
  return b;
}

export function emptyLocators(): ParentLocatorEntry[] {
  return Array.from({ length: 8 }, () => ({ code: 0, dataSpace: 0, dataLength: 0, dataOffset: 0 }));
}

export function newDynamicHeader(tableOffset: number, maxTableEntries: number, blockSize: number): DynamicHeader {
  return {
    tableOffset,
    headerVersion: HEADER_VERSION,
    maxTableEntries,
    blockSize,
    checksum: 0,
    parentUuid: NIL_UUID,
    parentTimestamp: 0,
    parentUnicodeName: '',
    locators: emptyLocators(),
  };
}
