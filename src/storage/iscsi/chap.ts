/**
 * @module
 * CHAP for iSCSI login (RFC 1994 with RFC 7143 §12.1.3): the response is
 * MD5(identifier byte ‖ secret ‖ challenge). Binary values travel as `0x` hex (either case)
 * or `0b` base64.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function chapResponse(id: number, secret: string, challenge: Buffer): Buffer {
  return createHash('md5').update(Buffer.from([id & 0xff])).update(secret, 'utf8').update(challenge).digest();
}

/** Decodes a CHAP binary value; throws on anything else. */
export function decodeBinary(v: string): Buffer {
  if (/^0x([0-9a-f]{2})+$/i.test(v)) return Buffer.from(v.slice(2), 'hex');
  if (/^0b[A-Za-z0-9+/]+=*$/.test(v)) return Buffer.from(v.slice(2), 'base64');
  throw new Error(`"${v.slice(0, 40)}" is not a CHAP binary value`);
}

export const encodeBinary = (b: Buffer): string => `0x${b.toString('hex')}`;

export function newChallenge(): { id: number; challenge: Buffer } {
  return { id: randomBytes(1)[0]!, challenge: randomBytes(32) };
}

export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
