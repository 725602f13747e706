/**
 * @module
 * The iSCSI PDU as both ends of Islet's iSCSI path see it (RFC 7143 §11): a 48-byte basic
 * header segment (BHS), optional AHS, optional digests and a data segment padded to four
 * bytes. This module names the opcodes and fields, builds outgoing PDUs as a list of
 * buffers for one gathered socket write, and encodes and decodes the `key=value` text
 * segments of login and text negotiation.
 */
import { crc32c, digestBytes } from './crc32c.js';

export const Op = {
  NopOut: 0x00, ScsiCommand: 0x01, TaskMgmt: 0x02, LoginReq: 0x03, TextReq: 0x04, DataOut: 0x05,
  LogoutReq: 0x06, Snack: 0x10,
  NopIn: 0x20, ScsiResponse: 0x21, TaskMgmtResp: 0x22, LoginResp: 0x23, TextResp: 0x24, DataIn: 0x25,
  LogoutResp: 0x26, R2T: 0x31, AsyncMsg: 0x32, Reject: 0x3f,
} as const;

export const BHS_LEN = 48;
export const NO_TAG = 0xffffffff;
/** The largest data segment either side of Islet ever accepts, whatever was declared. */
export const ABSOLUTE_MAX_SEGMENT = 16 * 1024 * 1024;

/** One received PDU. `data` excludes padding and digests. */
export interface Pdu {
  readonly bhs: Buffer;
  readonly data: Buffer;
}

export const opcode = (bhs: Buffer): number => bhs[0]! & 0x3f;
export const isImmediate = (bhs: Buffer): boolean => (bhs[0]! & 0x40) !== 0;
export const flags = (bhs: Buffer): number => bhs[1]!;
export const itt = (bhs: Buffer): number => bhs.readUInt32BE(16);
export const u32 = (bhs: Buffer, at: number): number => bhs.readUInt32BE(at);
export const dataSegmentLength = (bhs: Buffer): number => (bhs[5]! << 16) | (bhs[6]! << 8) | bhs[7]!;

/** A zeroed BHS with opcode (and I bit) and flags set. */
export function newBhs(op: number, flagsByte: number, immediate = false): Buffer {
  const b = Buffer.alloc(BHS_LEN);
  b[0] = op | (immediate ? 0x40 : 0);
  b[1] = flagsByte;
  return b;
}

export interface Digests {
  header: boolean;
  data: boolean;
}

/**
 * The buffers of one PDU on the wire. Sets DataSegmentLength from `data`. `data` is not
 * copied: the caller keeps it unchanged until the socket has taken it.
 */
export function encodePdu(bhs: Buffer, data: Buffer | undefined, digests: Digests): Buffer[] {
  const len = data?.length ?? 0;
  setDataSegmentLength(bhs, len);
  const out: Buffer[] = [bhs];
  if (digests.header) out.push(digestBytes(crc32c(bhs)));
  if (len > 0) {
    out.push(data!);
    const pad = (4 - (len % 4)) % 4;
    const padding = pad ? Buffer.alloc(pad) : undefined;
    if (padding) out.push(padding);
    if (digests.data) out.push(digestBytes(padding ? crc32c(padding, crc32c(data!)) : crc32c(data!)));
  }
  return out;
}

/** Sets DataSegmentLength (bytes 5–7) of a BHS. */
export function setDataSegmentLength(bhs: Buffer, len: number): void {
  if (len >= ABSOLUTE_MAX_SEGMENT) throw new RangeError(`data segment of ${len} bytes is too long`);
  bhs[5] = (len >>> 16) & 0xff;
  bhs[6] = (len >>> 8) & 0xff;
  bhs[7] = len & 0xff;
}

/** The 8-byte LUN field for LUN numbers below 16384 (SAM peripheral / flat addressing). */
export function encodeLun(lun: number): Buffer {
  const b = Buffer.alloc(8);
  writeLun(b, 0, lun);
  return b;
}

/** Writes the LUN field in place (bytes `at`..`at`+7 must be zero), sparing a buffer per PDU. */
export function writeLun(b: Buffer, at: number, lun: number): void {
  if (lun < 256) b[at + 1] = lun;
  else {
    b[at] = 0x40 | ((lun >> 8) & 0x3f);
    b[at + 1] = lun & 0xff;
  }
}

/** The LUN number of an 8-byte LUN field, or -1 when it is not a form Islet serves. */
export function decodeLun(b: Buffer, at = 0): number {
  const method = b[at]! >> 6;
  for (let i = 2; i < 8; i++) if (b[at + i] !== 0) return -1;
  if (method === 0 && b[at] === 0) return b[at + 1]!;
  if (method === 1) return ((b[at]! & 0x3f) << 8) | b[at + 1]!;
  return -1;
}

/** Serial-number comparison (RFC 1982) of two 32-bit sequence numbers: a < b. */
export function snLess(a: number, b: number): boolean {
  return a !== b && ((b - a) >>> 0) < 0x80000000;
}

/** Text keys in order. Duplicate keys are kept (SendTargets answers repeat TargetAddress). */
export type TextPairs = [string, string][];

export function encodeText(pairs: TextPairs): Buffer {
  return Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(''), 'utf8');
}

/** Decodes a text segment; throws on a pair without '=' or a key longer than 63 bytes. */
export function decodeText(data: Buffer): TextPairs {
  const out: TextPairs = [];
  let s = data.toString('utf8');
  if (s.endsWith('\0')) s = s.slice(0, -1);
  if (s.length === 0) return out;
  for (const item of s.split('\0')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0 || eq > 63) throw new Error(`malformed text key "${item.slice(0, 80)}"`);
    out.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return out;
}

export function textGet(pairs: TextPairs, key: string): string | undefined {
  for (const [k, v] of pairs) if (k === key) return v;
  return undefined;
}
