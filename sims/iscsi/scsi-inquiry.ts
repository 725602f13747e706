/**
 * @module
 * The identity and limits pages of the simulated target: standard INQUIRY, the VPD pages
 * 0x00 (supported), 0x80 (serial), 0x83 (device identification), 0xB0 (block limits),
 * 0xB1 (block device characteristics) and 0xB2 (logical block provisioning), and MODE
 * SENSE with the caching and control pages. Values follow SPC-4/SBC-3.
 */
import { createHash } from 'node:crypto';
import type { LunStore } from './lun-store.js';
import { good, invalidField, type ScsiResult } from './scsi-sense.js';

export interface TargetIdentity {
  vendor: string;
  product: string;
  revision: string;
}

/** Largest transfer the target accepts in one READ/WRITE, in bytes. */
export const MAX_TRANSFER_BYTES = 32 * 1024 * 1024;
export const MAX_UNMAP_DESCRIPTORS = 4096;
/** Largest WRITE SAME, in bytes (an unmapping one included). */
export const MAX_WRITE_SAME_BYTES = 2 ** 40;

const ascii = (s: string, n: number): Buffer => Buffer.from(s.padEnd(n, ' ').slice(0, n), 'ascii');

export function naaOf(store: LunStore): Buffer {
  const hex = store.naa ?? `6${createHash('sha256').update(`islet-lun:${store.serial}`).digest('hex').slice(0, 31)}`;
  return Buffer.from(hex, 'hex');
}

export function standardInquiry(id: TargetIdentity, present: boolean): Buffer {
  const b = Buffer.alloc(66);
  b[0] = present ? 0x00 : 0x7f;
  b[2] = 0x06;
  b[3] = 0x12;
  b[4] = b.length - 5;
  b[7] = 0x02;
  ascii(id.vendor, 8).copy(b, 8);
  ascii(id.product, 16).copy(b, 16);
  ascii(id.revision, 4).copy(b, 32);
  b.writeUInt16BE(0x00c0, 58); // SAM-4
  b.writeUInt16BE(0x0960, 60); // iSCSI
  b.writeUInt16BE(0x04c0, 62); // SBC-3
  b.writeUInt16BE(0x0460, 64); // SPC-4
  return b;
}

function page(code: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[1] = code;
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([h, body]);
}

const PAGES = [0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2];

export function vpdPage(code: number, store: LunStore, id: TargetIdentity, targetIqn: string): ScsiResult {
  switch (code) {
    case 0x00:
      return good(page(0x00, Buffer.from(PAGES)));
    case 0x80:
      return good(page(0x80, Buffer.from(store.serial, 'ascii')));
    case 0x83: {
      const naa = naaOf(store);
      const naaDesc = Buffer.concat([Buffer.from([0x01, 0x03, 0x00, naa.length]), naa]);
      const t10 = Buffer.concat([ascii(id.vendor, 8), Buffer.from(store.serial, 'ascii')]);
      const t10Desc = Buffer.concat([Buffer.from([0x02, 0x01, 0x00, t10.length]), t10]);
      let name = Buffer.from(`${targetIqn}\0`, 'utf8');
      if (name.length % 4) name = Buffer.concat([name, Buffer.alloc(4 - (name.length % 4))]);
      const nameDesc = Buffer.concat([Buffer.from([0x53, 0xa8, 0x00, name.length]), name]);
      return good(page(0x83, Buffer.concat([naaDesc, t10Desc, nameDesc])));
    }
    case 0xb0: {
      const b = Buffer.alloc(0x3c);
      const bs = store.blockSize;
      b[0] = 0x01; // WSNZ: WRITE SAME with zero blocks is refused
      b.writeUInt16BE(Math.max(1, 4096 / bs), 2);
      b.writeUInt32BE(MAX_TRANSFER_BYTES / bs, 4);
      b.writeUInt32BE((1024 * 1024) / bs, 8);
      if (store.thin) {
        b.writeUInt32BE(0xffffffff, 16);
        b.writeUInt32BE(MAX_UNMAP_DESCRIPTORS, 20);
        b.writeUInt32BE(Math.max(1, 4096 / bs), 24);
      }
      b.writeBigUInt64BE(BigInt(MAX_WRITE_SAME_BYTES / bs), 32);
      return good(page(0xb0, b));
    }
    case 0xb1: {
      const b = Buffer.alloc(0x3c);
      b.writeUInt16BE(1, 0); // non-rotating medium
      return good(page(0xb1, b));
    }
    case 0xb2: {
      const b = Buffer.alloc(4);
      if (store.thin) {
        b[1] = 0x80 | 0x40 | 0x20 | 0x04;
        b[2] = 0x02;
      }
      return good(page(0xb2, b));
    }
    default:
      return invalidField();
  }
}

/** MODE SENSE(6) (ten = false) or (10): caching (0x08) and control (0x0A) pages. */
export function modeSense(cdb: Buffer, store: LunStore, ten: boolean): ScsiResult {
  const dbd = (cdb[1]! & 0x08) !== 0;
  const pc = cdb[2]! >> 6;
  const code = cdb[2]! & 0x3f;
  const sub = cdb[3]!;
  if (pc === 3) return invalidField();
  const caching = Buffer.alloc(20);
  caching[0] = 0x08;
  caching[1] = 18;
  if (pc !== 1) caching[2] = 0x04; // WCE: writes are cached until SYNCHRONIZE CACHE
  const control = Buffer.alloc(12);
  control[0] = 0x0a;
  control[1] = 10;
  if (pc !== 1) {
    control[2] = 0x02; // GLTSD
    control[8] = 0xff;
    control[9] = 0xff;
  }
  let pages: Buffer;
  if (code === 0x3f && (sub === 0 || sub === 0xff)) pages = Buffer.concat([caching, control]);
  else if (code === 0x08 && sub === 0) pages = caching;
  else if (code === 0x0a && sub === 0) pages = control;
  else return invalidField();
  const blocks = store.size / store.blockSize;
  let desc = Buffer.alloc(0);
  if (!dbd) {
    desc = Buffer.alloc(8);
    desc.writeUInt32BE(blocks > 0xffffffff ? 0xffffffff : blocks, 0);
    desc.writeUInt32BE(store.blockSize & 0xffffff, 4);
  }
  if (ten) {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(6 + desc.length + pages.length, 0);
    h[3] = 0x10; // DPOFUA: DPO and FUA are honoured
    h.writeUInt16BE(desc.length, 6);
    return good(Buffer.concat([h, desc, pages]));
  }
  const h = Buffer.alloc(4);
  h[0] = 3 + desc.length + pages.length;
  h[2] = 0x10;
  h[3] = desc.length;
  return good(Buffer.concat([h, desc, pages]));
}
