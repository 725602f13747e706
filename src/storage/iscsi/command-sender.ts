/**
 * @module
 * Puts SCSI commands and their write data on the wire (RFC 7143 §10.3, §10.7): the
 * command PDU with as much immediate data as the negotiation allows, the unsolicited
 * Data-Out burst when InitialR2T=No, and the Data-Out sequence that answers each R2T,
 * every PDU within the target's MaxRecvDataSegmentLength. A write is the hot path (a
 * target such as tgtd accepts 8 KiB per PDU, so 1 GiB is 131,072 PDUs): the headers of a
 * whole sequence are cut from one allocation, the data goes out as slices of the
 * caller's buffer (never copied), and the sequence is written with the socket corked so
 * it leaves in one gathered write.
 */
import { BHS_LEN, newBhs, NO_TAG, Op, writeLun } from './pdu.js';
import type { SessionParams } from './negotiation.js';
import type { Task } from './session-tasks.js';
import type { Wire } from './wire.js';

/** Sends a SCSI Command PDU for `t` with CmdSN `cmdSN`, then any unsolicited data. */
export function sendCommand(wire: Wire, p: SessionParams, t: Task, cmdSN: number, expStatSN: number): void {
  const out = t.dataOut;
  const edtl = out ? out.length : t.readLength;
  const immediateLen = out && p.immediateData ? Math.min(out.length, p.firstBurstLength, p.peerMaxRecv) : 0;
  const unsolicitedEnd = out && !p.initialR2T ? Math.min(out.length, p.firstBurstLength) : immediateLen;
  const moreUnsolicited = unsolicitedEnd > immediateLen;
  // F=1 unless Data-Out follows unsolicited; W and R by direction; ATTR=1 (simple task).
  const bhs = newBhs(Op.ScsiCommand, (moreUnsolicited ? 0 : 0x80) | (out ? 0x20 : 0) | (t.readLength > 0 ? 0x40 : 0) | 0x01);
  writeLun(bhs, 8, t.lun);
  bhs.writeUInt32BE(t.itt, 16);
  bhs.writeUInt32BE(edtl, 20);
  bhs.writeUInt32BE(cmdSN, 24);
  bhs.writeUInt32BE(expStatSN, 28);
  t.cdb.copy(bhs, 32);
  t.sent = true;
  wire.cork();
  wire.send(bhs, immediateLen ? out!.subarray(0, immediateLen) : undefined);
  if (moreUnsolicited) sendDataOut(wire, p, t, NO_TAG, immediateLen, unsolicitedEnd - immediateLen, expStatSN);
  wire.uncork();
}

/**
 * Sends bytes `offset`..`offset+length` of `t`'s write data as one Data-Out sequence:
 * target transfer tag `ttt` (NO_TAG for unsolicited data), DataSN from 0, F on the last.
 */
export function sendDataOut(wire: Wire, p: SessionParams, t: Task, ttt: number, offset: number, length: number, expStatSN: number): void {
  const data = t.dataOut!;
  const max = p.peerMaxRecv;
  const count = Math.ceil(length / max);
  const headers = Buffer.alloc(count * BHS_LEN);
  const end = offset + length;
  wire.cork();
  for (let i = 0, at = offset; i < count; i++, at += max) {
    const n = Math.min(max, end - at);
    const h = headers.subarray(i * BHS_LEN, (i + 1) * BHS_LEN);
    h[0] = Op.DataOut;
    h[1] = at + n >= end ? 0x80 : 0;
    writeLun(h, 8, t.lun);
    h.writeUInt32BE(t.itt, 16);
    h.writeUInt32BE(ttt, 20);
    h.writeUInt32BE(expStatSN, 28);
    h.writeUInt32BE(i, 36);
    h.writeUInt32BE(at, 40);
    wire.send(h, data.subarray(at, at + n));
  }
  wire.uncork();
}
