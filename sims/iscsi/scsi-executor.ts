/**
 * @module
 * Executes one SCSI command (SPC-4 / SBC-3) against a LUN of the simulated target: the
 * command set Islet's initiator, libiscsi and qemu use (TEST UNIT READY, REQUEST SENSE,
 * INQUIRY with VPD, MODE SENSE, READ CAPACITY(10/16), GET LBA STATUS, READ/WRITE(10/12/16),
 * SYNCHRONIZE CACHE(10/16), UNMAP, WRITE SAME(10/16), REPORT LUNS). Anything else is
 * INVALID COMMAND OPERATION CODE; a bad field is INVALID FIELD IN CDB; a range past the end
 * is LBA OUT OF RANGE; nothing a client sends can throw past this module.
 */
import type { LunStore } from './lun-store.js';
import { MAX_TRANSFER_BYTES, MAX_UNMAP_DESCRIPTORS, MAX_WRITE_SAME_BYTES, modeSense, standardInquiry, vpdPage, type TargetIdentity } from './scsi-inquiry.js';
import {
  good, internalFailure, invalidField, invalidOpcode, invalidParameter, lbaOutOfRange, lunNotSupported,
  parameterLengthError, senseData, type ScsiResult,
} from './scsi-sense.js';

export interface CommandContext {
  /** The LUN addressed, or undefined when this initiator may not see it / it does not exist. */
  store: LunStore | undefined;
  /** LUN numbers this initiator sees, for REPORT LUNS. */
  visibleLuns: readonly number[];
  identity: TargetIdentity;
  targetIqn: string;
  /** Lends the buffer a READ's data goes in (the connection takes it back once sent). */
  readBuffer?: (length: number) => Buffer;
}

/** Bytes of Data-Out a CDB carries (the rest of the EDTL, if any, is a residual). */
export function dataOutLength(cdb: Buffer, store: LunStore | undefined): number {
  const bs = store?.blockSize ?? 512;
  switch (cdb[0]) {
    case 0x2a: return cdb.readUInt16BE(7) * bs;
    case 0xaa: return cdb.readUInt32BE(6) * bs;
    case 0x8a: return cdb.readUInt32BE(10) * bs;
    case 0x41: case 0x93: return cdb[1]! & 0x01 ? 0 : bs;
    case 0x42: return cdb.readUInt16BE(7);
    case 0x15: return cdb[4]!;
    case 0x55: return cdb.readUInt16BE(7);
    default: return 0;
  }
}

export async function executeScsi(cdb: Buffer, ctx: CommandContext, dataOut: Buffer | undefined): Promise<ScsiResult> {
  try {
    return await dispatch(cdb, ctx, dataOut ?? Buffer.alloc(0));
  } catch {
    return internalFailure();
  }
}

function rw(cdb: Buffer): { lba: number; blocks: number; fua: boolean } {
  switch (cdb[0]) {
    case 0x28: case 0x2a: return { lba: cdb.readUInt32BE(2), blocks: cdb.readUInt16BE(7), fua: (cdb[1]! & 0x08) !== 0 };
    case 0xa8: case 0xaa: return { lba: cdb.readUInt32BE(2), blocks: cdb.readUInt32BE(6), fua: (cdb[1]! & 0x08) !== 0 };
    default: return { lba: Number(cdb.readBigUInt64BE(2)), blocks: cdb.readUInt32BE(10), fua: (cdb[1]! & 0x08) !== 0 };
  }
}

function inRange(store: LunStore, lba: number, blocks: number): boolean {
  return Number.isSafeInteger(lba) && lba + blocks <= store.size / store.blockSize;
}

async function dispatch(cdb: Buffer, ctx: CommandContext, out: Buffer): Promise<ScsiResult> {
  const op = cdb[0]!;
  if (op === 0xa0) return reportLuns(cdb, ctx);
  if (op === 0x12) return inquiry(cdb, ctx);
  if (op === 0x03) return good(senseData(0, 0, 0).subarray(0, Math.min(18, cdb[4]!)));
  const store = ctx.store;
  if (!store) return lunNotSupported();
  const bs = store.blockSize;
  switch (op) {
    case 0x00:
      return good();
    case 0x1a:
      return modeSense(cdb, store, false);
    case 0x5a:
      return modeSense(cdb, store, true);
    case 0x15: case 0x55:
      return good();
    case 0x25: {
      const b = Buffer.alloc(8);
      const last = store.size / bs - 1;
      b.writeUInt32BE(last > 0xffffffff ? 0xffffffff : last, 0);
      b.writeUInt32BE(bs, 4);
      return good(b);
    }
    case 0x9e: {
      const sa = cdb[1]! & 0x1f;
      if (sa === 0x10) {
        const b = Buffer.alloc(32);
        b.writeBigUInt64BE(BigInt(store.size / bs - 1), 0);
        b.writeUInt32BE(bs, 8);
        if (store.thin) b[14] = 0xc0;
        return good(b.subarray(0, Math.min(32, cdb.readUInt32BE(10))));
      }
      if (sa === 0x12) return getLbaStatus(cdb, store);
      return invalidField();
    }
    case 0x28: case 0xa8: case 0x88: {
      if (cdb[1]! & 0xe0) return invalidField(); // no protection information
      const { lba, blocks } = rw(cdb);
      if (!inRange(store, lba, blocks)) return lbaOutOfRange();
      if (blocks * bs > MAX_TRANSFER_BYTES) return invalidField();
      if (blocks === 0) return good();
      return good(await store.read(lba * bs, blocks * bs, ctx.readBuffer?.(blocks * bs)));
    }
    case 0x2a: case 0xaa: case 0x8a: {
      if (cdb[1]! & 0xe0) return invalidField();
      const { lba, blocks, fua } = rw(cdb);
      if (!inRange(store, lba, blocks)) return lbaOutOfRange();
      if (blocks * bs > MAX_TRANSFER_BYTES) return invalidField();
      if (blocks === 0) return good();
      await store.write(lba * bs, out.subarray(0, blocks * bs));
      if (fua) await store.flush();
      return good();
    }
    case 0x35: case 0x91:
      await store.flush();
      return good();
    case 0x42:
      return unmap(cdb, store, out);
    case 0x41: case 0x93:
      return writeSame(cdb, store, out);
    default:
      return invalidOpcode();
  }
}

function inquiry(cdb: Buffer, ctx: CommandContext): ScsiResult {
  const evpd = (cdb[1]! & 0x01) !== 0;
  if ((cdb[1]! & 0xfe) !== 0) return invalidField();
  if (!evpd) return cdb[2] !== 0 ? invalidField() : good(standardInquiry(ctx.identity, ctx.store !== undefined));
  if (!ctx.store) return lunNotSupported();
  return vpdPage(cdb[2]!, ctx.store, ctx.identity, ctx.targetIqn);
}

function reportLuns(cdb: Buffer, ctx: CommandContext): ScsiResult {
  if (cdb[2]! > 2 && cdb[2] !== 0x10 && cdb[2] !== 0x11 && cdb[2] !== 0x12) return invalidField();
  if (cdb.readUInt32BE(6) < 16) return invalidField();
  const luns = cdb[2] === 0x01 ? [] : [...ctx.visibleLuns].sort((a, b) => a - b);
  const b = Buffer.alloc(8 + 8 * luns.length);
  b.writeUInt32BE(8 * luns.length, 0);
  luns.forEach((l, i) => {
    if (l < 256) b[8 + 8 * i + 1] = l;
    else {
      b[8 + 8 * i] = 0x40 | (l >> 8);
      b[8 + 8 * i + 1] = l & 0xff;
    }
  });
  return good(b);
}

async function getLbaStatus(cdb: Buffer, store: LunStore): Promise<ScsiResult> {
  const bs = store.blockSize;
  const lba = Number(cdb.readBigUInt64BE(2));
  const alloc = cdb.readUInt32BE(10);
  const total = store.size / bs;
  if (!Number.isSafeInteger(lba) || lba >= total) return lbaOutOfRange();
  const maxDesc = Math.max(1, Math.min(256, Math.floor((alloc - 8) / 16)));
  const span = Math.min(total - lba, (1024 * 1024 * 1024) / bs);
  const runs = store.allocation
    ? await store.allocation(lba * bs, span * bs)
    : [{ offset: lba * bs, length: span * bs, mapped: true }];
  const descs = runs.slice(0, maxDesc);
  const b = Buffer.alloc(8 + 16 * descs.length);
  b.writeUInt32BE(4 + 16 * descs.length, 0);
  descs.forEach((r, i) => {
    b.writeBigUInt64BE(BigInt(r.offset / bs), 8 + 16 * i);
    b.writeUInt32BE(r.length / bs, 16 + 16 * i);
    b[20 + 16 * i] = r.mapped ? 0 : 1;
  });
  return good(b);
}

async function unmap(cdb: Buffer, store: LunStore, out: Buffer): Promise<ScsiResult> {
  if (!store.thin) return invalidOpcode();
  if (cdb[1]! & 0x01) return invalidField();
  const paramLen = cdb.readUInt16BE(7);
  if (paramLen === 0) return good();
  if (paramLen < 8 || out.length < paramLen) return parameterLengthError();
  const descLen = out.readUInt16BE(2);
  if (descLen % 16 !== 0 || 8 + descLen > paramLen) return parameterLengthError();
  const n = descLen / 16;
  if (n > MAX_UNMAP_DESCRIPTORS) return invalidParameter();
  const bs = store.blockSize;
  const ranges: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const lba = Number(out.readBigUInt64BE(8 + 16 * i));
    const blocks = out.readUInt32BE(16 + 16 * i);
    if (!inRange(store, lba, blocks)) return lbaOutOfRange();
    if (blocks > 0) ranges.push([lba * bs, blocks * bs]);
  }
  for (const [off, len] of ranges) await store.unmap(off, len);
  return good();
}

async function writeSame(cdb: Buffer, store: LunStore, out: Buffer): Promise<ScsiResult> {
  const ten = cdb[0] === 0x41;
  const lba = ten ? cdb.readUInt32BE(2) : Number(cdb.readBigUInt64BE(2));
  const blocks = ten ? cdb.readUInt16BE(7) : cdb.readUInt32BE(10);
  const unmapBit = (cdb[1]! & 0x08) !== 0;
  const anchor = (cdb[1]! & 0x10) !== 0;
  const ndob = (cdb[1]! & 0x01) !== 0;
  const bs = store.blockSize;
  if (anchor || (unmapBit && !store.thin) || (cdb[1]! & 0xe0)) return invalidField();
  if (ten && ndob) return invalidField();
  if (!Number.isSafeInteger(lba) || lba > store.size / bs) return lbaOutOfRange();
  if (blocks === 0) return invalidField(); // WSNZ: a zero length is not "to the end" here
  if (!inRange(store, lba, blocks)) return lbaOutOfRange();
  if (blocks * bs > MAX_WRITE_SAME_BYTES) return invalidField();
  if (!ndob && out.length < bs) return parameterLengthError();
  const block = ndob ? Buffer.alloc(bs) : out.subarray(0, bs);
  if (unmapBit && block.every((x) => x === 0)) {
    await store.unmap(lba * bs, blocks * bs);
    return good();
  }
  const chunkBlocks = Math.max(1, Math.floor((1024 * 1024) / bs));
  const chunk = Buffer.alloc(Math.min(blocks, chunkBlocks) * bs);
  for (let i = 0; i < chunk.length; i += bs) block.copy(chunk, i);
  for (let done = 0; done < blocks; done += chunkBlocks) {
    const n = Math.min(chunkBlocks, blocks - done);
    await store.write((lba + done) * bs, chunk.subarray(0, n * bs));
  }
  return good();
}
