/**
 * @module
 * Conversions between the 16 raw UUID bytes stored in VHD structures and the canonical
 * lower-case string form used everywhere else in Islet.
 */
import { VhdError } from './errors.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function uuidFromBytes(buf: Uint8Array): string {
  const h = Buffer.from(buf.buffer, buf.byteOffset, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function uuidToBytes(uuid: string): Buffer {
  if (!UUID_RE.test(uuid)) throw new VhdError('INVALID_ARGUMENT', `not a UUID: ${JSON.stringify(uuid)}`);
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** Seconds since 2000-01-01T00:00:00Z, the VHD timestamp epoch, as a u32. */
export function vhdTimestamp(date: Date = new Date()): number {
  const secs = Math.floor(date.getTime() / 1000) - 946684800;
  return Math.max(0, Math.min(secs, 0xffffffff)) >>> 0;
}
