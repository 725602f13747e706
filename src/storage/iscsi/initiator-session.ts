/**
 * @module
 * One iSCSI session of Islet's initiator (ErrorRecoveryLevel 0, one connection). Commands
 * are numbered with CmdSN and sent only inside the target's window (ExpCmdSN..MaxCmdSN),
 * so many are in flight at once; writes go out as immediate data, an unsolicited burst
 * (when InitialR2T=No) and answers to R2Ts, each PDU within the target's
 * MaxRecvDataSegmentLength. A NOP-Out ping while anything is outstanding (and now and then
 * when idle) finds a stalled target. When the connection fails the session logs in again
 * with the same ISID (session reinstatement) and re-issues, in their original order, every
 * command that had no answer; the target ends the old session's tasks before the new
 * session runs, so a write is applied once or re-applied with the same data, never lost.
 */
import { randomBytes } from 'node:crypto';
import { IscsiError, type IscsiCredentials } from '../../core/ports/iscsi-initiator.js';
import { login } from './initiator-login.js';
import { defaultParams, type SessionParams } from './negotiation.js';
import { decodeText, encodeLun, encodeText, flags, itt as ittOf, newBhs, NO_TAG, Op, opcode, snLess, u32, type Pdu, type TextPairs } from './pdu.js';
import { ProtocolError } from './pdu-reader.js';
import { Wire } from './wire.js';

export interface SessionOptions {
  portal: string;
  targetIqn?: string;
  sessionType: 'Normal' | 'Discovery';
  creds: IscsiCredentials;
  /** Offer CRC32C header and data digests. */
  digests?: boolean;
  /** Give up re-establishing a lost connection after this long (default 120 s). */
  recoveryTimeoutMs?: number;
  /** Ping after this much silence while commands are outstanding, or when idle (default 5 s). */
  nopIntervalMs?: number;
  /** A ping unanswered this long drops the connection (default 10 s). */
  nopTimeoutMs?: number;
  /** Connecting and each login exchange must finish within this (default 15 s). */
  loginTimeoutMs?: number;
  log?: (m: string) => void;
}

export interface ScsiOutcome {
  status: number;
  data: Buffer;
  sense?: Buffer;
  /** Bytes the target did not transfer (underflow) — positive — or could not (overflow) — negative. */
  residual: number;
}

interface Task {
  seq: number;
  itt: number;
  lun: number;
  cdb: Buffer;
  dataOut?: Buffer;
  readLength: number;
  readBuf?: Buffer;
  immediate: boolean;
  resolve: (o: ScsiOutcome) => void;
  reject: (e: Error) => void;
  /** Sent on the current connection. */
  sent: boolean;
  dataSNs: number;
  unitAttentions: number;
  /** For NOP-Out pings and Text/Logout: the raw request to send. */
  raw?: { bhs: Buffer; data?: Buffer };
  rawDone?: (p: Pdu) => void;
}

const MAX_IN_FLIGHT = 64;
const MAX_UNIT_ATTENTION_RETRIES = 8;

export class IscsiSession {
  params: SessionParams = defaultParams();
  private wire: Wire | undefined;
  private readonly isid: Buffer;
  private cmdSN = 1;
  private expStatSN = 0;
  private maxCmdSN = 1;
  private nextItt = 1;
  private seq = 0;
  private readonly tasks = new Map<number, Task>();
  private readonly waiting: Task[] = [];
  private state: 'new' | 'up' | 'recovering' | 'closing' | 'closed' | 'failed' = 'new';
  private recovery: Promise<void> | undefined;
  private nopTimer: NodeJS.Timeout | undefined;
  private pingDeadline: NodeJS.Timeout | undefined;
  private lastHeard = Date.now();
  private readonly wishes: SessionParams;

  constructor(readonly opts: SessionOptions) {
    this.isid = Buffer.concat([Buffer.from([0x80]), randomBytes(5)]);
    const w = defaultParams();
    w.headerDigest = opts.digests ?? false;
    w.dataDigest = opts.digests ?? false;
    w.ourMaxRecv = 262144;
    w.maxBurstLength = 16 * 1024 * 1024 - 1;
    w.firstBurstLength = 262144;
    w.initialR2T = false;
    w.immediateData = true;
    w.maxOutstandingR2T = 8;
    w.defaultTime2Wait = 0;
    w.defaultTime2Retain = 0;
    this.wishes = w;
  }

  get up(): boolean {
    return this.state === 'up' || this.state === 'recovering';
  }

  /** Lost for good (recovery gave up) or logged out: a new session is needed. */
  get finished(): boolean {
    return this.state === 'failed' || this.state === 'closed' || this.state === 'closing';
  }

  async open(): Promise<void> {
    await this.connect();
    this.state = 'up';
    this.scheduleNop();
  }

  /** Runs one SCSI command. `readLength` bytes are expected back; `dataOut` is written. */
  command(lun: number, cdb: Buffer, io: { dataOut?: Buffer; readLength?: number; into?: Buffer } = {}): Promise<ScsiOutcome> {
    if (this.state === 'closed' || this.state === 'closing') return Promise.reject(new IscsiError('CLOSED', 'the iSCSI session is closed'));
    if (this.state === 'failed') return Promise.reject(new IscsiError('CLOSED', 'the iSCSI session was lost and could not be re-established'));
    const padded = Buffer.alloc(16);
    cdb.copy(padded);
    return new Promise((resolve, reject) => {
      const readLength = io.readLength ?? 0;
      const task: Task = {
        seq: this.seq++, itt: 0, lun, cdb: padded, readLength, immediate: false, resolve, reject, sent: false, dataSNs: 0, unitAttentions: 0,
        ...(io.dataOut ? { dataOut: io.dataOut } : {}),
        ...(readLength > 0 ? { readBuf: io.into && io.into.length >= readLength ? io.into.subarray(0, readLength) : Buffer.allocUnsafe(readLength) } : {}),
      };
      this.waiting.push(task);
      this.pump();
    });
  }

  /** A Text request (SendTargets) and its answer. */
  async text(pairs: TextPairs): Promise<TextPairs> {
    const answer: Buffer[] = [];
    let ttt = NO_TAG;
    let data: Buffer | undefined = encodeText(pairs);
    for (;;) {
      const bhs = newBhs(Op.TextReq, 0x80, true);
      bhs.writeUInt32BE(ttt, 20);
      const p = await this.raw(bhs, data);
      data = undefined;
      answer.push(Buffer.from(p.data));
      if (flags(p.bhs) & 0x40) {
        ttt = u32(p.bhs, 20);
        continue;
      }
      try {
        return decodeText(Buffer.concat(answer));
      } catch (e) {
        throw new IscsiError('PROTOCOL', `text response: ${(e as Error).message}`);
      }
    }
  }

  /** Logs out cleanly (waiting for outstanding commands first); safe to call twice. */
  async logout(timeoutMs = 10_000): Promise<void> {
    if (this.state === 'closed' || this.state === 'failed') return;
    if (this.state === 'closing') return;
    const deadline = Date.now() + timeoutMs;
    while ((this.tasks.size > 0 || this.waiting.length > 0) && Date.now() < deadline && this.up) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.state = 'closing';
    this.stopNop();
    const wire = this.wire;
    if (wire && !wire.broken) {
      const bhs = newBhs(Op.LogoutReq, 0x80, true);
      try {
        await Promise.race([
          this.raw(bhs, undefined, true),
          new Promise((_, reject) => setTimeout(() => reject(new IscsiError('TIMEOUT', 'no logout response')), Math.max(100, deadline - Date.now())).unref()),
        ]);
      } catch {
        // the connection goes anyway
      }
      wire.destroy();
    }
    this.state = 'closed';
    this.failAll(new IscsiError('CLOSED', 'the iSCSI session was logged out'));
  }

  /** Drops the connection without logging out (tests of recovery use it). */
  dropConnection(): void {
    this.wire?.destroy(new IscsiError('CLOSED', 'connection dropped on purpose'));
  }

  // ---- connection and recovery ------------------------------------------------------

  private async connect(): Promise<void> {
    const wire = await Wire.open(this.opts.portal, this.opts.loginTimeoutMs ?? 15_000);
    try {
      const r = await login(wire, {
        isid: this.isid, sessionType: this.opts.sessionType, creds: this.opts.creds, wishes: this.wishes,
        cmdSN: this.cmdSN, timeoutMs: this.opts.loginTimeoutMs ?? 15_000, ...(this.opts.targetIqn ? { targetIqn: this.opts.targetIqn } : {}),
      });
      this.params = r.params;
      this.expStatSN = r.expStatSN;
      this.maxCmdSN = snLess(r.maxCmdSN, (r.expCmdSN - 1) >>> 0) ? r.expCmdSN : r.maxCmdSN;
      this.cmdSN = r.expCmdSN;
      wire.reader.digests = { header: r.params.headerDigest, data: r.params.dataDigest };
      wire.reader.maxDataSegment = r.params.ourMaxRecv;
      this.wire = wire;
      this.lastHeard = Date.now();
      wire.reader.placeData = (bhs) => this.placeData(bhs);
      wire.attach((p) => this.onPdu(wire, p), (e) => this.onWireError(wire, e));
    } catch (e) {
      wire.destroy();
      throw e;
    }
  }

  private onWireError(wire: Wire, e: Error): void {
    if (wire !== this.wire) return;
    this.clearPing();
    if (this.state === 'closing' || this.state === 'closed') return;
    this.opts.log?.(`iscsi: connection to ${this.opts.targetIqn ?? this.opts.portal} lost: ${e.message}`);
    if (this.opts.sessionType === 'Discovery') {
      this.state = 'failed';
      this.failAll(e instanceof IscsiError ? e : new IscsiError('CLOSED', e.message));
      return;
    }
    this.recover();
  }

  private recover(): void {
    if (this.recovery) return;
    this.state = 'recovering';
    // Raw PDUs (pings, text) belong to the dead connection; SCSI commands are re-issued.
    for (const t of [...this.tasks.values()]) {
      if (t.raw) {
        this.tasks.delete(t.itt);
        t.reject(new IscsiError('CLOSED', 'connection lost'));
      } else {
        t.sent = false;
        t.dataSNs = 0;
      }
    }
    const timeout = this.opts.recoveryTimeoutMs ?? 120_000;
    const started = Date.now();
    this.recovery = (async () => {
      let delay = Math.min(100, this.params.defaultTime2Wait * 1000) || 50;
      for (;;) {
        if (this.state !== 'recovering') return;
        await new Promise((r) => setTimeout(r, delay));
        if (this.state !== 'recovering') return;
        try {
          await this.connect();
          this.opts.log?.(`iscsi: session to ${this.opts.targetIqn} reinstated; re-issuing ${this.tasks.size} command(s)`);
          this.state = 'up';
          this.reissue();
          return;
        } catch (e) {
          // A restarting array may refuse logins (no target yet, no accounts yet) for a while:
          // everything is retried until the recovery timeout.
          if (Date.now() - started > timeout) {
            this.state = 'failed';
            this.failAll(new IscsiError('TIMEOUT', `could not re-establish the session within ${timeout} ms: ${(e as Error).message}`));
            return;
          }
          delay = Math.min(delay * 2, 1000);
        }
      }
    })().finally(() => {
      this.recovery = undefined;
    });
  }

  /** Puts every unanswered command back at the head of the queue, oldest first. */
  private reissue(): void {
    const old = [...this.tasks.values()].sort((a, b) => a.seq - b.seq);
    this.tasks.clear();
    this.waiting.unshift(...old);
    this.pump();
  }

  private failAll(e: Error): void {
    this.stopNop();
    for (const t of [...this.tasks.values(), ...this.waiting.splice(0)]) t.reject(e);
    this.tasks.clear();
  }

  // ---- keep-alive ------------------------------------------------------------------

  private scheduleNop(): void {
    const every = this.opts.nopIntervalMs ?? 5000;
    this.nopTimer = setInterval(() => {
      if (this.state !== 'up' || this.pingDeadline) return;
      if (Date.now() - this.lastHeard < every) return;
      this.ping();
    }, Math.max(50, every / 2));
    this.nopTimer.unref();
  }

  private ping(): void {
    const wire = this.wire;
    if (!wire) return;
    const bhs = newBhs(Op.NopOut, 0x80, true);
    bhs.writeUInt32BE(NO_TAG, 20);
    this.pingDeadline = setTimeout(() => {
      this.pingDeadline = undefined;
      wire.destroy(new IscsiError('TIMEOUT', `no answer to a NOP-Out within ${this.opts.nopTimeoutMs ?? 10_000} ms`));
    }, this.opts.nopTimeoutMs ?? 10_000);
    this.raw(bhs, undefined).then(() => this.clearPing(), () => this.clearPing());
  }

  private clearPing(): void {
    clearTimeout(this.pingDeadline);
    this.pingDeadline = undefined;
  }

  private stopNop(): void {
    clearInterval(this.nopTimer);
    this.clearPing();
  }

  // ---- sending ---------------------------------------------------------------------

  private newItt(): number {
    for (;;) {
      const t = this.nextItt;
      this.nextItt = this.nextItt >= 0x7fffffff ? 1 : this.nextItt + 1;
      if (!this.tasks.has(t)) return t;
    }
  }

  /** An immediate PDU (I=1) whose answer carries its ITT. */
  private raw(bhs: Buffer, data: Buffer | undefined, evenWhenClosing = false): Promise<Pdu> {
    const wire = this.wire;
    if (!wire || wire.broken || (!evenWhenClosing && this.state !== 'up')) return Promise.reject(new IscsiError('CLOSED', 'not connected'));
    return new Promise((resolve, reject) => {
      const t: Task = {
        seq: this.seq++, itt: this.newItt(), lun: 0, cdb: Buffer.alloc(0), readLength: 0, immediate: true,
        resolve: () => undefined, reject, sent: true, dataSNs: 0, unitAttentions: 0, raw: { bhs, ...(data ? { data } : {}) }, rawDone: resolve,
      };
      this.tasks.set(t.itt, t);
      bhs.writeUInt32BE(t.itt, 16);
      bhs.writeUInt32BE(this.cmdSN, 24);
      bhs.writeUInt32BE(this.expStatSN, 28);
      wire.send(bhs, data);
    });
  }

  private pump(): void {
    const wire = this.wire;
    if (this.state !== 'up' || !wire || wire.broken) return;
    while (this.waiting.length > 0 && !snLess(this.maxCmdSN, this.cmdSN) && this.tasks.size < MAX_IN_FLIGHT) {
      const t = this.waiting.shift()!;
      t.itt = this.newItt();
      this.tasks.set(t.itt, t);
      this.sendCommand(wire, t);
    }
  }

  private sendCommand(wire: Wire, t: Task): void {
    const p = this.params;
    const out = t.dataOut;
    const edtl = out ? out.length : t.readLength;
    const immediateLen = out && p.immediateData ? Math.min(out.length, p.firstBurstLength, p.peerMaxRecv) : 0;
    const unsolicitedEnd = out && !p.initialR2T ? Math.min(out.length, p.firstBurstLength) : immediateLen;
    const moreUnsolicited = unsolicitedEnd > immediateLen;
    const bhs = newBhs(Op.ScsiCommand, (moreUnsolicited ? 0 : 0x80) | (out ? 0x20 : 0) | (t.readLength > 0 ? 0x40 : 0) | 0x01);
    encodeLun(t.lun).copy(bhs, 8);
    bhs.writeUInt32BE(t.itt, 16);
    bhs.writeUInt32BE(edtl, 20);
    bhs.writeUInt32BE(this.cmdSN, 24);
    this.cmdSN = (this.cmdSN + 1) >>> 0;
    bhs.writeUInt32BE(this.expStatSN, 28);
    t.cdb.copy(bhs, 32);
    t.sent = true;
    t.dataSNs = 0;
    wire.send(bhs, immediateLen ? out!.subarray(0, immediateLen) : undefined);
    if (moreUnsolicited) this.sendData(wire, t, NO_TAG, immediateLen, unsolicitedEnd - immediateLen);
  }

  private sendData(wire: Wire, t: Task, ttt: number, offset: number, length: number): void {
    const max = this.params.peerMaxRecv;
    let dataSN = 0;
    wire.socket.cork();
    for (let at = offset; at < offset + length; at += max) {
      const n = Math.min(max, offset + length - at);
      const last = at + n >= offset + length;
      const bhs = newBhs(Op.DataOut, last ? 0x80 : 0);
      encodeLun(t.lun).copy(bhs, 8);
      bhs.writeUInt32BE(t.itt, 16);
      bhs.writeUInt32BE(ttt, 20);
      bhs.writeUInt32BE(this.expStatSN, 28);
      bhs.writeUInt32BE(dataSN++, 36);
      bhs.writeUInt32BE(at, 40);
      wire.send(bhs, t.dataOut!.subarray(at, at + n));
    }
    wire.socket.uncork();
  }

  // ---- receiving -------------------------------------------------------------------

  /** Takes StatSN/ExpCmdSN/MaxCmdSN from a target PDU. */
  private sns(bhs: Buffer, consumes: boolean): void {
    if (consumes) {
      const statSN = u32(bhs, 24);
      if (!snLess(statSN, this.expStatSN)) this.expStatSN = (statSN + 1) >>> 0;
    }
    const exp = u32(bhs, 28);
    const max = u32(bhs, 32);
    if (!snLess(max, (exp - 1) >>> 0) && snLess(this.maxCmdSN, max)) this.maxCmdSN = max;
    else if (!snLess(max, (exp - 1) >>> 0) && max === this.maxCmdSN) this.maxCmdSN = max;
  }

  private onPdu(wire: Wire, p: Pdu): void {
    if (wire !== this.wire) return;
    this.lastHeard = Date.now();
    const bhs = p.bhs;
    const op = opcode(bhs);
    switch (op) {
      case Op.DataIn:
        this.onDataIn(bhs, p.data);
        break;
      case Op.ScsiResponse:
        this.sns(bhs, true);
        this.onResponse(bhs, p.data);
        break;
      case Op.R2T: {
        this.sns(bhs, false);
        const t = this.tasks.get(ittOf(bhs));
        if (!t || !t.dataOut || !t.sent) throw new ProtocolError(`R2T for unknown task ${ittOf(bhs)}`);
        const offset = u32(bhs, 40);
        const length = u32(bhs, 44);
        if (length === 0 || offset + length > t.dataOut.length) throw new ProtocolError(`R2T asks for bytes ${offset}+${length} of a ${t.dataOut.length}-byte write`);
        if (length > this.params.maxBurstLength) throw new ProtocolError(`R2T of ${length} bytes exceeds MaxBurstLength`);
        t.dataSNs++;
        this.sendData(wire, t, u32(bhs, 20), offset, length);
        break;
      }
      case Op.NopIn: {
        const tag = ittOf(bhs);
        if (tag !== NO_TAG) {
          this.sns(bhs, true);
          this.finishRaw(tag, p);
        } else {
          this.sns(bhs, false);
          const ttt = u32(bhs, 20);
          if (ttt !== NO_TAG) {
            const r = newBhs(Op.NopOut, 0x80, true);
            bhs.copy(r, 8, 8, 16);
            r.writeUInt32BE(NO_TAG, 16);
            r.writeUInt32BE(ttt, 20);
            r.writeUInt32BE(this.cmdSN, 24);
            r.writeUInt32BE(this.expStatSN, 28);
            wire.send(r, p.data.length ? Buffer.from(p.data) : undefined);
          }
        }
        break;
      }
      case Op.TextResp:
      case Op.LogoutResp:
      case Op.TaskMgmtResp:
        this.sns(bhs, true);
        this.finishRaw(ittOf(bhs), p);
        break;
      case Op.AsyncMsg: {
        this.sns(bhs, false);
        const event = bhs[36]!;
        if (event === 1 || event === 2 || event === 3) {
          this.opts.log?.(`iscsi: target asks to end the connection (async event ${event}); reconnecting`);
          wire.destroy(new IscsiError('CLOSED', `target async event ${event}`));
        }
        break;
      }
      case Op.Reject: {
        this.sns(bhs, true);
        const rejected = p.data.length >= 48 ? p.data.readUInt32BE(16) : NO_TAG;
        const t = this.tasks.get(rejected);
        const err = new IscsiError('PROTOCOL', `the target rejected a PDU (reason 0x${bhs[2]!.toString(16)})`);
        if (t) {
          this.tasks.delete(rejected);
          t.reject(err);
          this.pump();
        }
        break;
      }
      default:
        throw new ProtocolError(`unexpected opcode 0x${op.toString(16)} from the target`);
    }
  }

  private finishRaw(tag: number, p: Pdu): void {
    const t = this.tasks.get(tag);
    if (!t || !t.rawDone) return;
    this.tasks.delete(tag);
    t.rawDone(p);
    this.pump();
  }

  /** The slice of a read's buffer a Data-In's payload belongs in, when it fits. */
  private placeData(bhs: Buffer): Buffer | undefined {
    if (opcode(bhs) !== Op.DataIn) return undefined;
    const t = this.tasks.get(ittOf(bhs));
    const offset = u32(bhs, 40);
    const len = (bhs[5]! << 16) | (bhs[6]! << 8) | bhs[7]!;
    if (!t || !t.readBuf || offset + len > t.readBuf.length) return undefined;
    return t.readBuf.subarray(offset, offset + len);
  }

  private onDataIn(bhs: Buffer, data: Buffer): void {
    const f = flags(bhs);
    const hasStatus = (f & 0x01) !== 0;
    this.sns(bhs, hasStatus);
    const t = this.tasks.get(ittOf(bhs));
    if (!t || !t.sent || t.raw) throw new ProtocolError(`Data-In for unknown task ${ittOf(bhs)}`);
    const offset = u32(bhs, 40);
    if (!t.readBuf || offset + data.length > t.readBuf.length) {
      throw new ProtocolError(`Data-In of ${data.length} bytes at ${offset} overruns the ${t.readLength}-byte read`);
    }
    if (data.buffer !== t.readBuf.buffer || data.byteOffset !== t.readBuf.byteOffset + offset) data.copy(t.readBuf, offset);
    t.dataSNs++;
    if (hasStatus) {
      if (f & 0x02 || f & 0x04) {
        // residual reported with the status
      }
      this.complete(t, bhs[3]!, undefined, residualOf(f, u32(bhs, 44)));
    }
  }

  private onResponse(bhs: Buffer, data: Buffer): void {
    const t = this.tasks.get(ittOf(bhs));
    if (!t || !t.sent || t.raw) throw new ProtocolError(`SCSI response for unknown task ${ittOf(bhs)}`);
    if (bhs[2] !== 0) {
      this.tasks.delete(t.itt);
      t.reject(new IscsiError('SCSI', `the target failed the command (iSCSI response 0x${bhs[2]!.toString(16)})`));
      this.pump();
      return;
    }
    let sense: Buffer | undefined;
    if (data.length >= 2) {
      const len = data.readUInt16BE(0);
      if (2 + len > data.length) throw new ProtocolError('sense length beyond the data segment');
      sense = Buffer.from(data.subarray(2, 2 + len));
    }
    this.complete(t, bhs[3]!, sense, residualOf(flags(bhs), u32(bhs, 44)));
  }

  private complete(t: Task, status: number, sense: Buffer | undefined, residual: number): void {
    this.tasks.delete(t.itt);
    if (status === 0x02 && sense && senseKey(sense) === 6 && t.unitAttentions < MAX_UNIT_ATTENTION_RETRIES) {
      // A unit attention (reset, new nexus, capacity change) is news, not a failure: retry.
      t.unitAttentions++;
      t.sent = false;
      this.waiting.unshift(t);
      this.pump();
      return;
    }
    if (status === 0x08 || status === 0x28) {
      t.sent = false;
      setTimeout(() => {
        this.waiting.unshift(t);
        this.pump();
      }, 10);
      this.pump();
      return;
    }
    const length = t.readBuf ? Math.max(0, Math.min(t.readLength, t.readLength - Math.max(0, residual))) : 0;
    t.resolve({ status, data: t.readBuf ? t.readBuf.subarray(0, length) : Buffer.alloc(0), ...(sense ? { sense } : {}), residual });
    this.pump();
  }
}

function residualOf(f: number, count: number): number {
  if (f & 0x02) return count;
  if (f & 0x04) return -count;
  return 0;
}

export function senseKey(sense: Buffer): number {
  const code = sense[0]! & 0x7f;
  if (code === 0x72 || code === 0x73) return sense[1]! & 0x0f;
  return (sense[2] ?? 0) & 0x0f;
}

export function senseCodes(sense: Buffer): { key: number; asc: number; ascq: number } {
  const code = sense[0]! & 0x7f;
  if (code === 0x72 || code === 0x73) return { key: sense[1]! & 0x0f, asc: sense[2] ?? 0, ascq: sense[3] ?? 0 };
  return { key: (sense[2] ?? 0) & 0x0f, asc: sense[12] ?? 0, ascq: sense[13] ?? 0 };
}
