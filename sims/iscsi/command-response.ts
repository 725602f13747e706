/**
 * @module
 * How the simulated target answers a finished SCSI command (RFC 7143 §10.4, §10.7): read
 * data cut to the command's allocation length and expected length, sent as Data-In PDUs
 * no longer than the initiator's MaxRecvDataSegmentLength (F at each MaxBurstLength
 * boundary), the status riding on the last Data-In when it is GOOD, otherwise a SCSI
 * Response with the sense data; underflow and overflow residuals on whichever carries
 * the status. Also the CDB helpers the target's command path needs for short writes.
 */
import type { SessionParams } from '../../src/storage/iscsi/negotiation.js';
import { flags, newBhs, NO_TAG, Op } from '../../src/storage/iscsi/pdu.js';
import { Status, type ScsiResult } from './scsi-sense.js';

/** The part of a connection that puts answers on the wire. */
export interface ResponseSink {
  /** `written` runs once the socket is done with `data`. */
  send(bhs: Buffer, data?: Buffer, written?: () => void): void;
  /** Fills StatSN/ExpCmdSN/MaxCmdSN; `consume` advances StatSN. */
  stamp(bhs: Buffer, consume: boolean): void;
}

export interface FinishedCommand {
  tag: number;
  /** The command's BHS (flags, LUN). */
  cmd: Buffer;
  cdb: Buffer;
  edtl: number;
  /** For a write: the bytes its CDB transfers (residuals compare EDTL with it). */
  writeNeeds?: number;
  result: ScsiResult;
  /** R2Ts sent for the command, which count in ExpDataSN. */
  r2ts: number;
}

/** Sends the answer; `sent` runs once the socket no longer needs the result's data. */
export function sendCommandResult(sink: ResponseSink, params: SessionParams, c: FinishedCommand, sent?: () => void): void {
  const res = c.result;
  const readDir = (flags(c.cmd) & 0x40) !== 0;
  let data = res.data ? truncateToAllocation(c.cdb, res.data) : undefined;
  let resFlags = 0;
  let residual = 0;
  if (c.writeNeeds !== undefined) {
    if (c.writeNeeds < c.edtl) {
      resFlags = 0x02;
      residual = c.edtl - c.writeNeeds;
    } else if (c.writeNeeds > c.edtl) {
      resFlags = 0x04;
      residual = c.writeNeeds - c.edtl;
    }
  } else if (data) {
    const len = data.length;
    if (!readDir && len > 0) {
      resFlags = 0x04;
      residual = len;
      data = undefined;
    } else if (len < c.edtl) {
      resFlags = 0x02;
      residual = c.edtl - len;
    } else if (len > c.edtl) {
      resFlags = 0x04;
      residual = len - c.edtl;
      data = data.subarray(0, c.edtl);
    }
  } else if (c.edtl > 0) {
    resFlags = 0x02;
    residual = c.edtl;
  }
  let dataSN = 0;
  if (data && data.length > 0) {
    const max = params.peerMaxRecv;
    for (let off = 0; off < data.length; off += max) {
      const n = Math.min(max, data.length - off);
      const last = off + n >= data.length;
      const endOfBurst = last || (off + n) % params.maxBurstLength === 0;
      const withStatus = last && res.status === Status.Good;
      const r = newBhs(Op.DataIn, (endOfBurst ? 0x80 : 0) | (withStatus ? 0x01 | resFlags : 0));
      c.cmd.copy(r, 8, 8, 16);
      r.writeUInt32BE(c.tag, 16);
      r.writeUInt32BE(NO_TAG, 20);
      sink.stamp(r, withStatus);
      r.writeUInt32BE(dataSN++, 36);
      r.writeUInt32BE(off, 40);
      if (withStatus) {
        r[3] = res.status;
        r.writeUInt32BE(residual, 44);
      }
      sink.send(r, data.subarray(off, off + n), last ? sent : undefined);
    }
    if (res.status === Status.Good) return;
  } else sent?.();
  const r = newBhs(Op.ScsiResponse, 0x80 | resFlags);
  r[3] = res.status;
  r.writeUInt32BE(c.tag, 16);
  sink.stamp(r, true);
  r.writeUInt32BE(dataSN + c.r2ts, 36);
  r.writeUInt32BE(residual, 44);
  let payload: Buffer | undefined;
  if (res.sense) {
    payload = Buffer.alloc(2 + res.sense.length);
    payload.writeUInt16BE(res.sense.length, 0);
    res.sense.copy(payload, 2);
  }
  sink.send(r, payload);
}

/** A copy of a WRITE(10/12/16) CDB with another transfer length. */
export function withBlocks(cdb: Buffer, blocks: number): Buffer {
  const c = Buffer.from(cdb);
  if (c[0] === 0x2a) c.writeUInt16BE(blocks, 7);
  else if (c[0] === 0xaa) c.writeUInt32BE(blocks, 6);
  else c.writeUInt32BE(blocks, 10);
  return c;
}

/** Cuts a command's answer to the allocation length its CDB gave. */
function truncateToAllocation(cdb: Buffer, data: Buffer): Buffer {
  let alloc: number;
  switch (cdb[0]) {
    case 0x12: alloc = cdb.readUInt16BE(3); break;
    case 0x1a: case 0x03: alloc = cdb[4]!; break;
    case 0x5a: alloc = cdb.readUInt16BE(7); break;
    case 0xa0: alloc = cdb.readUInt32BE(6); break;
    case 0x9e: alloc = cdb.readUInt32BE(10); break;
    default: return data;
  }
  return data.length > alloc ? data.subarray(0, alloc) : data;
}
