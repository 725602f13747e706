/**
 * @module
 * Gathers the data of the write commands of one target connection (RFC 7143 §10.7–10.8)
 * until each is complete: immediate data, the unsolicited burst (InitialR2T=No, up to
 * FirstBurstLength), then R2Ts for the rest, at most MaxOutstandingR2T per task and each
 * at most MaxBurstLength. Data-Out lands straight in the task's buffer when the reader
 * can place it there. Data outside what was solicited, unknown transfer tags, a burst
 * ending short, or a write whose data stops coming are protocol errors: the connection
 * drops, as ErrorRecoveryLevel 0 says.
 */
import type { SessionParams } from '../../src/storage/iscsi/negotiation.js';
import { flags, itt, newBhs, NO_TAG, Op, opcode, u32, type Pdu } from '../../src/storage/iscsi/pdu.js';
import { ProtocolError } from '../../src/storage/iscsi/pdu-reader.js';

/** Largest expected data transfer length a write may announce. */
export const MAX_WRITE_BUFFER = 64 * 1024 * 1024;

/** A write command whose data is all in. */
export interface CollectedWrite {
  itt: number;
  cmdBhs: Buffer;
  lun: number;
  cdb: Buffer;
  edtl: number;
  /** The bytes the CDB asked for (at most EDTL). */
  data: Buffer;
  /** R2Ts sent for it (they count in the response's ExpDataSN). */
  r2ts: number;
  /** The buffer `allocate` gave for it (`data` is a view of it), to give back once written. */
  buffer: Buffer;
}

interface WriteTask {
  itt: number;
  cmdBhs: Buffer;
  lun: number;
  cdb: Buffer;
  edtl: number;
  /** Bytes the CDB carries (what is solicited). */
  want: number;
  buf: Buffer;
  received: number;
  unsolicitedOpen: boolean;
  nextOffset: number;
  r2ts: Map<number, { offset: number; length: number; got: number }>;
  r2tsn: number;
  timer?: NodeJS.Timeout;
}

/** What the collector needs from its connection. */
export interface WriteCollectorHost {
  readonly params: SessionParams;
  readonly dataOutMs: number;
  send(bhs: Buffer): void;
  /** A buffer for a write's data (the connection lends them from its pool). */
  allocate(length: number): Buffer;
  /** Fills StatSN/ExpCmdSN/MaxCmdSN without consuming a StatSN. */
  stamp(bhs: Buffer): void;
  fail(e: Error): void;
  /** A write has all its data: run it. */
  ready(w: CollectedWrite): void;
}

export class WriteCollector {
  private readonly writes = new Map<number, WriteTask>();
  private nextTtt = 1;
  /** The buffer allocated for a write command whose immediate data was read into it. */
  private preallocated: { itt: number; buf: Buffer } | undefined;

  constructor(private readonly host: WriteCollectorHost) {}

  /** Lets write data go from the socket straight into its task's buffer (one copy). */
  placeData(bhs: Buffer): Buffer | undefined {
    const len = (bhs[5]! << 16) | (bhs[6]! << 8) | bhs[7]!;
    const op = opcode(bhs);
    if (op === Op.DataOut) {
      const task = this.writes.get(itt(bhs));
      const offset = u32(bhs, 40);
      if (!task || offset + len > task.edtl) return undefined;
      return task.buf.subarray(offset, offset + len);
    }
    if (op === Op.ScsiCommand && (flags(bhs) & 0x20) !== 0) {
      const edtl = u32(bhs, 20);
      if (len > edtl || edtl > MAX_WRITE_BUFFER) return undefined;
      const buf = this.host.allocate(edtl);
      this.preallocated = { itt: itt(bhs), buf };
      return buf.subarray(0, len);
    }
    return undefined;
  }

  /** A write command arrived (with its immediate data); `want` is what its CDB transfers. */
  begin(p: Pdu, lun: number, cdb: Buffer, want: number): void {
    const bhs = p.bhs;
    const f = flags(bhs);
    const edtl = u32(bhs, 20);
    const tag = itt(bhs);
    const params = this.host.params;
    if (p.data.length > edtl || p.data.length > params.firstBurstLength) throw new ProtocolError('immediate data exceeds the expected length or FirstBurstLength');
    if (p.data.length > 0 && !params.immediateData) throw new ProtocolError('immediate data was not negotiated');
    if (this.writes.has(tag)) throw new ProtocolError(`task tag ${tag} is already in use`);
    const pre = this.preallocated?.itt === tag ? this.preallocated.buf : undefined;
    this.preallocated = undefined;
    if (edtl > MAX_WRITE_BUFFER) throw new ProtocolError(`a write of ${edtl} bytes is beyond what the target accepts`);
    const task: WriteTask = {
      itt: tag, cmdBhs: bhs, lun, cdb, edtl, want: Math.min(edtl, want), buf: pre ?? this.host.allocate(edtl), received: p.data.length,
      unsolicitedOpen: (f & 0x80) === 0, nextOffset: 0, r2ts: new Map(), r2tsn: 0,
    };
    if (task.unsolicitedOpen && params.initialR2T) throw new ProtocolError('unsolicited Data-Out with InitialR2T=Yes');
    if (!pre) p.data.copy(task.buf, 0);
    task.nextOffset = task.unsolicitedOpen ? Math.min(edtl, params.firstBurstLength) : p.data.length;
    this.writes.set(tag, task);
    this.armTimer(task);
    this.advance(task);
  }

  onDataOut(p: Pdu): void {
    const bhs = p.bhs;
    const task = this.writes.get(itt(bhs));
    if (!task) return; // the task was aborted or failed: its data has nowhere to go
    const ttt = u32(bhs, 20);
    const offset = u32(bhs, 40);
    const len = p.data.length;
    if (offset + len > task.edtl) throw new ProtocolError(`Data-Out beyond the expected length of task ${task.itt}`);
    const final = (flags(bhs) & 0x80) !== 0;
    if (ttt === NO_TAG) {
      if (!task.unsolicitedOpen) throw new ProtocolError('unsolicited Data-Out after the unsolicited burst ended');
      if (offset + len > this.host.params.firstBurstLength) throw new ProtocolError('unsolicited data beyond FirstBurstLength');
      if (!samePlace(p.data, task.buf, offset)) p.data.copy(task.buf, offset);
      task.received += len;
      if (final) {
        task.unsolicitedOpen = false;
        task.nextOffset = Math.max(task.nextOffset, Math.min(task.edtl, offset + len));
        task.nextOffset = Math.min(task.nextOffset, task.received);
      }
    } else {
      const r2t = task.r2ts.get(ttt);
      if (!r2t) throw new ProtocolError(`Data-Out with an unknown target transfer tag ${ttt}`);
      if (offset < r2t.offset || offset + len > r2t.offset + r2t.length) throw new ProtocolError('Data-Out outside its R2T');
      if (!samePlace(p.data, task.buf, offset)) p.data.copy(task.buf, offset);
      task.received += len;
      r2t.got += len;
      if (final) {
        if (r2t.got !== r2t.length) throw new ProtocolError(`R2T sequence ended with ${r2t.got} of ${r2t.length} bytes`);
        task.r2ts.delete(ttt);
      }
    }
    this.armTimer(task);
    this.advance(task);
  }

  /** ABORT TASK: the write's data, if any still comes, is dropped. */
  abort(tag: number): void {
    const w = this.writes.get(tag);
    if (!w) return;
    clearTimeout(w.timer);
    this.writes.delete(tag);
  }

  clear(): void {
    for (const t of this.writes.values()) clearTimeout(t.timer);
    this.writes.clear();
  }

  private armTimer(task: WriteTask): void {
    clearTimeout(task.timer);
    task.timer = setTimeout(() => this.host.fail(new ProtocolError(`no Data-Out for task ${task.itt} in time`)), this.host.dataOutMs);
  }

  /** Sends the R2Ts the task may have outstanding, or hands it on once all data is in. */
  private advance(task: WriteTask): void {
    if (task.unsolicitedOpen) return;
    const params = this.host.params;
    while (task.nextOffset < task.want && task.r2ts.size < params.maxOutstandingR2T) {
      const length = Math.min(params.maxBurstLength, task.want - task.nextOffset);
      const ttt = this.nextTtt;
      this.nextTtt = this.nextTtt >= 0x7fffffff ? 1 : this.nextTtt + 1;
      task.r2ts.set(ttt, { offset: task.nextOffset, length, got: 0 });
      const r = newBhs(Op.R2T, 0x80);
      task.cmdBhs.copy(r, 8, 8, 16);
      r.writeUInt32BE(task.itt, 16);
      r.writeUInt32BE(ttt, 20);
      this.host.stamp(r);
      r.writeUInt32BE(task.r2tsn++, 36);
      r.writeUInt32BE(task.nextOffset, 40);
      r.writeUInt32BE(length, 44);
      this.host.send(r);
      task.nextOffset += length;
    }
    if (task.r2ts.size === 0 && task.nextOffset >= task.want) {
      clearTimeout(task.timer);
      this.writes.delete(task.itt);
      this.host.ready({ itt: task.itt, cmdBhs: task.cmdBhs, lun: task.lun, cdb: task.cdb, edtl: task.edtl, data: task.buf.subarray(0, task.want), r2ts: task.r2tsn, buffer: task.buf });
    }
  }
}

const samePlace = (data: Buffer, buf: Buffer, offset: number): boolean => data.buffer === buf.buffer && data.byteOffset === buf.byteOffset + offset;
