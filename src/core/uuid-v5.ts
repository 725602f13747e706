/**
 * @module
 * Name-based uuids (RFC 9562 version 5: SHA-1 of a namespace uuid and a name). The same
 * namespace and name give the same uuid on every host and after every restart, so a uuid
 * that follows from another one never needs to be stored or replicated.
 */
import { createHash } from 'node:crypto';
import { isUuid } from './ref.js';

function uuidBytes(u: string): Buffer {
  if (!isUuid(u)) throw new Error(`not a uuid: ${u}`);
  return Buffer.from(u.replace(/-/g, ''), 'hex');
}

export function uuidV5(namespace: string, name: string): string {
  const h = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
