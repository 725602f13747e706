/**
 * @module
 * The 512-byte VHD footer (hard disk footer): found at the end of every VHD and, for dynamic
 * and differencing disks, copied at offset 0. Islet writes it the way blktap (XenServer's
 * tapdisk) does: creator `tap`, version 1.3, and the tapdisk-specific `hidden` byte at
 * offset 85 that marks interior nodes of a snapshot tree.
 */
import { vhdChecksum } from './checksum.js';
import { check, VhdError } from './errors.js';
import { decodeGeometry, encodeGeometry, geometryForSize, type Geometry } from './geometry.js';
import { uuidFromBytes, uuidToBytes, vhdTimestamp } from './uuid-bytes.js';

export const SECTOR = 512;
export const FOOTER_SIZE = 512;
export const FOOTER_COOKIE = 'conectix';
export const FORMAT_VERSION = 0x00010000;
/** Feature bit 1 ("reserved") must always be set. */
export const FEATURES_RESERVED = 2;
/** blktap's VHD_CURRENT_VERSION: 1.3. */
export const TAP_CREATOR_VERSION = 0x00010003;
/** Largest virtual size XenServer (sm `MAX_VHD_SIZE`) and qemu create: 2040 GiB. */
export const MAX_VHD_SIZE = 2040 * 1024 ** 3;

export const DiskType = { Fixed: 2, Dynamic: 3, Differencing: 4 } as const;
export type DiskType = (typeof DiskType)[keyof typeof DiskType];

export interface Footer {
  features: number;
  formatVersion: number;
  /** Byte offset of the dynamic header; `null` (all ones on disk) for fixed disks. */
  dataOffset: number | null;
  timestamp: number;
  creatorApp: string;
  creatorVersion: number;
  creatorHostOs: number;
  originalSize: number;
  currentSize: number;
  geometry: Geometry;
  diskType: DiskType;
  checksum: number;
  uuid: string;
  savedState: number;
  /** blktap extension: non-zero when the VDI is a hidden base copy. */
  hidden: number;
}

const CHECKSUM_AT = 64;
const HIDDEN_AT = 85;

function u64(buf: Buffer, at: number): number | null {
  const v = buf.readBigUInt64BE(at);
  return v === 0xffffffffffffffffn ? null : Number(v);
}

function creatorIsOldTap(f: Buffer): boolean {
  const ver = f.readUInt32BE(32);
  return f.toString('latin1', 28, 31) === 'tap' && (ver === 0x00000001 || ver === 0x00010001);
}

/** Decodes and checks cookie, checksum, version and disk type of a footer. */
export function parseFooter(buf: Buffer, path?: string): Footer {
  check(buf.length >= FOOTER_SIZE, 'TRUNCATED', 'footer shorter than 512 bytes', path);
  const f = buf.subarray(0, FOOTER_SIZE);
  check(f.toString('latin1', 0, 8) === FOOTER_COOKIE, 'BAD_COOKIE', 'footer cookie is not "conectix"', path);
  const stored = f.readUInt32BE(CHECKSUM_AT);
  if (vhdChecksum(f, CHECKSUM_AT) !== stored) {
    // Early td-util set the hidden byte without updating the checksum; blktap accepts that.
    const copy = Buffer.from(f);
    copy[HIDDEN_AT] = 0;
    const quirk = f[HIDDEN_AT] !== 0 && creatorIsOldTap(f) && vhdChecksum(copy, CHECKSUM_AT) === stored;
    if (!quirk) throw new VhdError('BAD_FOOTER_CHECKSUM', 'footer checksum mismatch', path);
  }
  const formatVersion = f.readUInt32BE(12);
  check(formatVersion >>> 16 === 1, 'UNSUPPORTED_VERSION', `footer format version 0x${formatVersion.toString(16)}`, path);
  const diskType = f.readUInt32BE(60);
  check(
    diskType === DiskType.Fixed || diskType === DiskType.Dynamic || diskType === DiskType.Differencing,
    'UNSUPPORTED_DISK_TYPE',
    `disk type ${diskType}`,
    path,
  );
  return {
    features: f.readUInt32BE(8),
    formatVersion,
    dataOffset: u64(f, 16),
    timestamp: f.readUInt32BE(24),
    creatorApp: f.toString('latin1', 28, 32),
    creatorVersion: f.readUInt32BE(32),
    creatorHostOs: f.readUInt32BE(36),
    originalSize: u64(f, 40) ?? Number.MAX_VALUE,
    currentSize: u64(f, 48) ?? Number.MAX_VALUE,
    geometry: decodeGeometry(f.readUInt32BE(56)),
    diskType: diskType as DiskType,
    checksum: stored,
    uuid: uuidFromBytes(f.subarray(68, 84)),
    savedState: f[84]!,
    hidden: f[HIDDEN_AT]!,
  };
}

/** Encodes a footer, computing its checksum (the `checksum` field of the input is ignored). */
export function serializeFooter(footer: Footer): Buffer {
  const b = Buffer.alloc(FOOTER_SIZE);
  b.write(FOOTER_COOKIE, 0, 'latin1');
  b.writeUInt32BE(footer.features >>> 0, 8);
  b.writeUInt32BE(footer.formatVersion >>> 0, 12);
  b.writeBigUInt64BE(footer.dataOffset === null ? 0xffffffffffffffffn : BigInt(footer.dataOffset), 16);
  b.writeUInt32BE(footer.timestamp >>> 0, 24);
  b.write(footer.creatorApp.padEnd(4, '\0').slice(0, 4), 28, 'latin1');
  b.writeUInt32BE(footer.creatorVersion >>> 0, 32);
  b.writeUInt32BE(footer.creatorHostOs >>> 0, 36);
  b.writeBigUInt64BE(BigInt(footer.originalSize), 40);
  b.writeBigUInt64BE(BigInt(footer.currentSize), 48);
  b.writeUInt32BE(encodeGeometry(footer.geometry), 56);
  b.writeUInt32BE(footer.diskType, 60);
  uuidToBytes(footer.uuid).copy(b, 68);
  b[84] = footer.savedState & 0xff;
  b[HIDDEN_AT] = footer.hidden & 0xff;
  b.writeUInt32BE(vhdChecksum(b, CHECKSUM_AT), CHECKSUM_AT);
  return b;
}

/** A fresh footer as blktap writes one (creator `tap` 1.3, host OS 0, now as timestamp). */
export function newFooter(diskType: DiskType, size: number, uuid: string): Footer {
  return {
    features: FEATURES_RESERVED,
    formatVersion: FORMAT_VERSION,
    dataOffset: diskType === DiskType.Fixed ? null : FOOTER_SIZE,
    timestamp: vhdTimestamp(),
    creatorApp: 'tap\0',
    creatorVersion: TAP_CREATOR_VERSION,
    creatorHostOs: 0,
    originalSize: size,
    currentSize: size,
    geometry: geometryForSize(size),
    diskType,
    checksum: 0,
    uuid,
    savedState: 0,
    hidden: 0,
  };
}
