/**
 * @module
 * One iSCSI session of Islet's initiator (ErrorRecoveryLevel 0, one connection): the
 * state machine that logs in, runs commands and recovers. Commands are numbered with
 * CmdSN and sent only inside the target's window (ExpCmdSN..MaxCmdSN), so many are in
 * flight at once; `command-sender` puts them and their write data on the wire, the task
 * table remembers what awaits an answer, and the keep-alive pings a silent target. When
 * the connection fails the session logs in again with the same ISID (session
 * reinstatement) and re-issues, in their original order, every command that had no
 * answer; the target ends the old session's tasks before the new session runs, so a
 * write is applied once or re-applied with the same data, never lost.
 */
import { randomBytes } from 'node:crypto';
import { IscsiError, type IscsiCredentials } from '../../core/ports/iscsi-initiator.js';
import { CmdWindow } from './cmd-window.js';
import { sendCommand, sendDataOut } from './command-sender.js';
import { login } from './initiator-login.js';
import { KeepAlive, type Ping } from './keep-alive.js';
import { defaultParams, type SessionParams } from './negotiation.js';
import { decodeText, encodeText, flags, itt as ittOf, newBhs, NO_TAG, Op, opcode, u32, type Pdu, type TextPairs } from './pdu.js';
import { ProtocolError } from './pdu-reader.js';
import { residualOf, senseKey, type ScsiOutcome } from './scsi-outcome.js';
import { TaskTable, type Task } from './session-tasks.js';
import { Wire } from './wire.js';

export type { ScsiOutcome } from './scsi-outcome.js';

/** How a session behaves, whatever it connects to (the initiator passes its own to every session). */
export interface SessionTuning {
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

export interface SessionOptions extends SessionTuning {
  portal: string;
  targetIqn?: string;
  sessionType: 'Normal' | 'Discovery';
  creds: IscsiCredentials;
}

/** Commands outstanding at once, whatever window the target grants. */
const MAX_IN_FLIGHT = 64;
/**
 * Data outstanding at once (reads plus writes): more commands wait in the queue, though one
 * command is always let through whatever its size. A target answers each command from a
 * buffer it allocates; tgtd (glibc malloc) reuses its heap while few megabytes are out, but
 * with more it keeps returning memory and faulting fresh pages in, on every page of every
 * answer: 16 MiB out cost it 2-4 times the CPU of 8 MiB (docs/iscsi.md).
 */
const MAX_BYTES_IN_FLIGHT = 8 * 1024 * 1024;
const MAX_UNIT_ATTENTION_RETRIES = 8;
/** The largest values RFC 7143 allows for the burst keys (2^24 - 1). */
const MAX_BURST = 16 * 1024 * 1024 - 1;

/**
 * What the initiator asks for: no R2T round trip where the target allows it (immediate
 * data and an unsolicited first burst), the largest bursts the RFC permits, several R2Ts
 * outstanding per write; the target's answers (min/OR/AND) decide what is used.
 */
function wishes(digests: boolean): SessionParams {
  const w = defaultParams();
  w.headerDigest = digests;
  w.dataDigest = digests;
  // A whole READ (1 MiB, see iscsi-block-device) in one Data-In PDU: one header to parse.
  w.ourMaxRecv = 1024 * 1024;
  w.maxBurstLength = MAX_BURST;
  w.firstBurstLength = MAX_BURST;
  w.initialR2T = false;
  w.immediateData = true;
  w.maxOutstandingR2T = 16;
  w.defaultTime2Wait = 0;
  w.defaultTime2Retain = 0;
  return w;
}

export class IscsiSession {
  params: SessionParams = defaultParams();
  private wire: Wire | undefined;
  private readonly isid: Buffer;
  private readonly window = new CmdWindow();
  private readonly tasks = new TaskTable();
  private state: 'new' | 'up' | 'recovering' | 'closing' | 'closed' | 'failed' = 'new';
  private recovery: Promise<void> | undefined;
  private pumpScheduled = false;
  private readonly keepAlive: KeepAlive;
  private readonly wishes: SessionParams;

  constructor(readonly opts: SessionOptions) {
    this.isid = Buffer.concat([Buffer.from([0x80]), randomBytes(5)]);
    this.wishes = wishes(opts.digests ?? false);
    this.keepAlive = new KeepAlive(opts.nopIntervalMs ?? 5000, opts.nopTimeoutMs ?? 10_000);
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
    this.keepAlive.start(() => this.state === 'up', () => this.ping());
  }

  /** Runs one SCSI command. `readLength` bytes are expected back; `dataOut` is written. */
  command(lun: number, cdb: Buffer, io: { dataOut?: Buffer; readLength?: number; into?: Buffer } = {}): Promise<ScsiOutcome> {
    if (this.state === 'closed' || this.state === 'closing') return Promise.reject(new IscsiError('CLOSED', 'the iSCSI session is closed'));
    if (this.state === 'failed') return Promise.reject(new IscsiError('CLOSED', 'the iSCSI session was lost and could not be re-established'));
    const padded = Buffer.alloc(16);
    cdb.copy(padded);
    return new Promise((resolve, reject) => {
      const readLength = io.readLength ?? 0;
      this.tasks.enqueue({
        seq: this.tasks.nextSeq(), itt: 0, lun, cdb: padded, readLength, resolve, reject, sent: false, unitAttentions: 0,
        ...(io.dataOut ? { dataOut: io.dataOut } : {}),
        ...(readLength > 0 ? { readBuf: io.into && io.into.length >= readLength ? io.into.subarray(0, readLength) : Buffer.allocUnsafe(readLength) } : {}),
      });
      this.schedulePump();
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
    if (this.state === 'closed' || this.state === 'failed' || this.state === 'closing') return;
    const deadline = Date.now() + timeoutMs;
    while (!this.tasks.idle && Date.now() < deadline && this.up) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.state = 'closing';
    this.keepAlive.stop();
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
        cmdSN: this.window.cmdSN, timeoutMs: this.opts.loginTimeoutMs ?? 15_000, ...(this.opts.targetIqn ? { targetIqn: this.opts.targetIqn } : {}),
      });
      this.params = r.params;
      this.window.reset(r.expStatSN, r.expCmdSN, r.maxCmdSN);
      wire.reader.digests = { header: r.params.headerDigest, data: r.params.dataDigest };
      wire.reader.maxDataSegment = r.params.ourMaxRecv;
      this.wire = wire;
      this.keepAlive.heard();
      wire.reader.placeData = (bhs) => this.placeData(bhs);
      wire.attach((p) => this.onPdu(wire, p), (e) => this.onWireError(wire, e));
    } catch (e) {
      wire.destroy();
      throw e;
    }
  }

  private onWireError(wire: Wire, e: Error): void {
    if (wire !== this.wire) return;
    this.keepAlive.settle();
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
    for (const t of this.tasks.connectionLost()) t.reject(new IscsiError('CLOSED', 'connection lost'));
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
          this.state = 'up';
          const n = this.tasks.reissue();
          this.opts.log?.(`iscsi: session to ${this.opts.targetIqn} reinstated; re-issuing ${n} command(s)`);
          this.schedulePump();
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

  private failAll(e: Error): void {
    this.keepAlive.stop();
    for (const t of this.tasks.drain()) t.reject(e);
  }

  private ping(): Ping | undefined {
    const wire = this.wire;
    if (!wire) return undefined;
    const bhs = newBhs(Op.NopOut, 0x80, true);
    bhs.writeUInt32BE(NO_TAG, 20);
    return {
      answer: this.raw(bhs, undefined),
      expire: () => wire.destroy(new IscsiError('TIMEOUT', `no answer to a NOP-Out within ${this.opts.nopTimeoutMs ?? 10_000} ms`)),
    };
  }

  // ---- sending ---------------------------------------------------------------------

  /** An immediate PDU (I=1) whose answer carries its ITT. */
  private raw(bhs: Buffer, data: Buffer | undefined, evenWhenClosing = false): Promise<Pdu> {
    const wire = this.wire;
    if (!wire || wire.broken || (!evenWhenClosing && this.state !== 'up')) return Promise.reject(new IscsiError('CLOSED', 'not connected'));
    return new Promise((resolve, reject) => {
      const t: Task = {
        seq: this.tasks.nextSeq(), itt: 0, lun: 0, cdb: EMPTY, readLength: 0,
        resolve: () => undefined, reject, sent: true, unitAttentions: 0, rawDone: resolve,
      };
      this.tasks.track(t);
      bhs.writeUInt32BE(t.itt, 16);
      bhs.writeUInt32BE(this.window.cmdSN, 24);
      bhs.writeUInt32BE(this.window.expStatSN, 28);
      wire.send(bhs, data);
    });
  }

  /**
   * Sends the queue from a microtask: the commands a caller issues together (a read cut in
   * several commands, the next reads started as earlier ones complete, every completion
   * of one received chunk) leave in one corked socket write instead of one write each.
   * The queue keeps issue order, so deferring changes no order.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Sends queued commands while the CmdSN window and our own limit allow. */
  private pump(): void {
    const wire = this.wire;
    if (this.state !== 'up' || !wire || wire.broken) return;
    if (!this.tasks.hasWaiting) return;
    wire.cork();
    while (this.tasks.hasWaiting && this.window.open && this.tasks.inFlight < MAX_IN_FLIGHT && this.roomFor(this.tasks.nextBytes!)) {
      const t = this.tasks.dequeue()!;
      sendCommand(wire, this.params, t, this.window.take(), this.window.expStatSN);
    }
    wire.uncork();
  }

  private roomFor(bytes: number): boolean {
    const out = this.tasks.bytesInFlight;
    return out === 0 || out + bytes <= MAX_BYTES_IN_FLIGHT;
  }

  // ---- receiving -------------------------------------------------------------------

  private onPdu(wire: Wire, p: Pdu): void {
    if (wire !== this.wire) return;
    this.keepAlive.heard();
    const bhs = p.bhs;
    const op = opcode(bhs);
    switch (op) {
      case Op.DataIn:
        this.onDataIn(bhs, p.data);
        break;
      case Op.ScsiResponse:
        this.window.update(bhs, true);
        this.onResponse(bhs, p.data);
        break;
      case Op.R2T:
        this.window.update(bhs, false);
        this.onR2T(wire, bhs);
        break;
      case Op.NopIn:
        this.onNopIn(wire, p);
        break;
      case Op.TextResp:
      case Op.LogoutResp:
      case Op.TaskMgmtResp:
        this.window.update(bhs, true);
        this.finishRaw(ittOf(bhs), p);
        break;
      case Op.AsyncMsg: {
        this.window.update(bhs, false);
        const event = bhs[36]!;
        if (event === 1 || event === 2 || event === 3) {
          this.opts.log?.(`iscsi: target asks to end the connection (async event ${event}); reconnecting`);
          wire.destroy(new IscsiError('CLOSED', `target async event ${event}`));
        }
        break;
      }
      case Op.Reject: {
        this.window.update(bhs, true);
        const rejected = p.data.length >= 48 ? p.data.readUInt32BE(16) : NO_TAG;
        const t = this.tasks.take(rejected);
        if (t) {
          t.reject(new IscsiError('PROTOCOL', `the target rejected a PDU (reason 0x${bhs[2]!.toString(16)})`));
          this.schedulePump();
        }
        break;
      }
      default:
        throw new ProtocolError(`unexpected opcode 0x${op.toString(16)} from the target`);
    }
  }

  /** The target solicits part of a write: answer with that Data-Out sequence at once. */
  private onR2T(wire: Wire, bhs: Buffer): void {
    const t = this.tasks.get(ittOf(bhs));
    if (!t || !t.dataOut || !t.sent) throw new ProtocolError(`R2T for unknown task ${ittOf(bhs)}`);
    const offset = u32(bhs, 40);
    const length = u32(bhs, 44);
    if (length === 0 || offset + length > t.dataOut.length) throw new ProtocolError(`R2T asks for bytes ${offset}+${length} of a ${t.dataOut.length}-byte write`);
    if (length > this.params.maxBurstLength) throw new ProtocolError(`R2T of ${length} bytes exceeds MaxBurstLength`);
    sendDataOut(wire, this.params, t, u32(bhs, 20), offset, length, this.window.expStatSN);
  }

  /** A ping answer (our ITT) or the target's own ping (its TTT), which we echo. */
  private onNopIn(wire: Wire, p: Pdu): void {
    const bhs = p.bhs;
    const tag = ittOf(bhs);
    if (tag !== NO_TAG) {
      this.window.update(bhs, true);
      this.finishRaw(tag, p);
      return;
    }
    this.window.update(bhs, false);
    const ttt = u32(bhs, 20);
    if (ttt === NO_TAG) return;
    const r = newBhs(Op.NopOut, 0x80, true);
    bhs.copy(r, 8, 8, 16);
    r.writeUInt32BE(NO_TAG, 16);
    r.writeUInt32BE(ttt, 20);
    r.writeUInt32BE(this.window.cmdSN, 24);
    r.writeUInt32BE(this.window.expStatSN, 28);
    wire.send(r, p.data.length ? Buffer.from(p.data) : undefined);
  }

  private finishRaw(tag: number, p: Pdu): void {
    const t = this.tasks.get(tag);
    if (!t || !t.rawDone) return;
    this.tasks.take(tag);
    t.rawDone(p);
    this.schedulePump();
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
    this.window.update(bhs, hasStatus);
    const t = this.tasks.get(ittOf(bhs));
    if (!t || !t.sent || t.rawDone) throw new ProtocolError(`Data-In for unknown task ${ittOf(bhs)}`);
    const offset = u32(bhs, 40);
    if (!t.readBuf || offset + data.length > t.readBuf.length) {
      throw new ProtocolError(`Data-In of ${data.length} bytes at ${offset} overruns the ${t.readLength}-byte read`);
    }
    if (data.buffer !== t.readBuf.buffer || data.byteOffset !== t.readBuf.byteOffset + offset) data.copy(t.readBuf, offset);
    if (hasStatus) this.complete(t, bhs[3]!, undefined, residualOf(f, u32(bhs, 44)));
  }

  private onResponse(bhs: Buffer, data: Buffer): void {
    const t = this.tasks.get(ittOf(bhs));
    if (!t || !t.sent || t.rawDone) throw new ProtocolError(`SCSI response for unknown task ${ittOf(bhs)}`);
    if (bhs[2] !== 0) {
      this.tasks.take(t.itt);
      t.reject(new IscsiError('SCSI', `the target failed the command (iSCSI response 0x${bhs[2]!.toString(16)})`));
      this.schedulePump();
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
    this.tasks.take(t.itt);
    if (status === 0x02 && sense && senseKey(sense) === 6 && t.unitAttentions < MAX_UNIT_ATTENTION_RETRIES) {
      // A unit attention (reset, new nexus, capacity change) is news, not a failure: retry.
      t.unitAttentions++;
      this.tasks.requeue(t);
      this.schedulePump();
      return;
    }
    if (status === 0x08 || status === 0x28) {
      // BUSY / TASK SET FULL: try again shortly, ahead of newer commands.
      t.sent = false;
      setTimeout(() => {
        this.tasks.requeue(t);
        this.schedulePump();
      }, 10);
      this.schedulePump();
      return;
    }
    const length = t.readBuf ? Math.max(0, Math.min(t.readLength, t.readLength - Math.max(0, residual))) : 0;
    t.resolve({ status, data: t.readBuf ? t.readBuf.subarray(0, length) : Buffer.alloc(0), ...(sense ? { sense } : {}), residual });
    this.schedulePump();
  }
}

const EMPTY = Buffer.alloc(0);
