/**
 * @module
 * One initiator connection to the simulated target: the login phase (`target-login-phase`),
 * then the full feature phase (RFC 7143 §4–§11) with one session per connection
 * (MaxConnections=1, ErrorRecoveryLevel 0). This module owns the socket and the sequence
 * numbers: it enforces the CmdSN window (commands outside it are dropped, as the RFC
 * says), answers NOP, Text, Logout and task management, runs SCSI commands once the
 * `write-collector` has their data, and answers them through `command-response`. A peer
 * that breaks the protocol loses its own connection and nothing else.
 */
import type { Socket } from 'node:net';
import type { SessionParams } from '../../src/storage/iscsi/negotiation.js';
import { decodeLun, decodeText, encodePdu, encodeText, flags, isImmediate, itt, newBhs, NO_TAG, Op, opcode, snLess, u32, type Pdu, type TextPairs } from '../../src/storage/iscsi/pdu.js';
import { PduReader, ProtocolError } from '../../src/storage/iscsi/pdu-reader.js';
import { BufferPool } from './buffer-pool.js';
import { sendCommandResult, withBlocks } from './command-response.js';
import type { LunStore } from './lun-store.js';
import { dataOutLength, executeScsi } from './scsi-executor.js';
import type { TargetIdentity } from './scsi-inquiry.js';
import { invalidField, type ScsiResult } from './scsi-sense.js';
import type { LoginPolicy } from './target-login.js';
import { TargetLoginPhase, type LoginConnection } from './target-login-phase.js';
import { WriteCollector, type CollectedWrite } from './write-collector.js';

/** What a connection needs from its target. */
export interface TargetHost {
  readonly policy: LoginPolicy;
  readonly identity: TargetIdentity;
  log(m: string): void;
  lunFor(initiatorIqn: string, lun: number): LunStore | undefined;
  visibleLuns(initiatorIqn: string): number[];
  sendTargets(initiatorIqn: string, which: string, localAddress: string): TextPairs;
  /** Ends an older session with the same initiator and ISID; resolves when its tasks are over. */
  reinstate(key: string, conn: TargetConnection): Promise<void>;
  allocateTsih(): number;
  forget(conn: TargetConnection): void;
  /** How long a login, and a write's wait for its data, may take before the connection is dropped. */
  readonly timeouts: { loginMs: number; dataOutMs: number };
}

const QUEUE_DEPTH = 128;

export class TargetConnection implements LoginConnection {
  private readonly reader: PduReader;
  private readonly loginPhase: TargetLoginPhase;
  private readonly collector: WriteCollector;
  private phase: 'login' | 'ffp' | 'closed' = 'login';
  private statSN = 0;
  private expCmdSN = 0;
  private maxCmdSN = 0;
  private readonly pending = new Map<number, Pdu>();
  private readonly running = new Set<Promise<void>>();
  private readonly buffers = new BufferPool();
  private loginTimer: NodeJS.Timeout | undefined;

  constructor(readonly socket: Socket, private readonly host: TargetHost) {
    this.loginPhase = new TargetLoginPhase(this, host);
    const conn = this;
    this.collector = new WriteCollector({
      get params() {
        return conn.params;
      },
      dataOutMs: host.timeouts.dataOutMs,
      send: (bhs) => this.send(bhs),
      allocate: (n) => this.buffers.take(n),
      stamp: (bhs) => this.stamp(bhs, false),
      fail: (e) => this.fail(e),
      ready: (w) => this.runWrite(w),
    });
    socket.setNoDelay(true);
    this.reader = new PduReader(socket, (p) => this.onPdu(p), (e) => this.fail(e));
    this.reader.maxDataSegment = 8192;
    this.reader.placeData = (bhs) => (this.phase === 'ffp' ? this.collector.placeData(bhs) : undefined);
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    this.loginTimer = setTimeout(() => this.fail(new ProtocolError('login did not complete in time')), host.timeouts.loginMs);
  }

  get initiatorName(): string {
    return this.loginPhase.login.initiatorName;
  }

  get sessionKey(): string {
    return this.loginPhase.sessionKey;
  }

  private get params(): SessionParams {
    return this.loginPhase.login.params;
  }

  /** Drops the connection; running tasks finish but send nothing. */
  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.loginTimer);
    this.collector.clear();
    this.reader.stop();
    this.socket.destroy();
    this.host.forget(this);
  }

  /** Resolves when every task this connection started has finished. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  fail(e: Error): void {
    if (this.phase === 'closed') return;
    this.host.log(`iscsi target: dropping ${this.initiatorName || this.socket.remoteAddress}: ${e.message}`);
    this.close();
  }

  /** Queues one PDU; `written` runs once the socket is done with `data` (or failed). */
  send(bhs: Buffer, data?: Buffer, written?: () => void): void {
    if (this.phase === 'closed') {
      written?.();
      return;
    }
    const bufs = encodePdu(bhs, data, this.reader.digests);
    const last = bufs.length - 1;
    this.socket.cork();
    for (let i = 0; i < last; i++) this.socket.write(bufs[i]!);
    if (written) this.socket.write(bufs[last]!, () => written());
    else this.socket.write(bufs[last]!);
    this.socket.uncork();
  }

  /** Fills StatSN/ExpCmdSN/MaxCmdSN; `consume` advances StatSN. */
  stamp(bhs: Buffer, consume: boolean): void {
    bhs.writeUInt32BE(this.statSN, 24);
    if (consume) this.statSN = (this.statSN + 1) >>> 0;
    const max = (this.expCmdSN + QUEUE_DEPTH - 1 - Math.min(this.running.size, QUEUE_DEPTH - 1)) >>> 0;
    if (snLess(this.maxCmdSN, max)) this.maxCmdSN = max;
    bhs.writeUInt32BE(this.expCmdSN, 28);
    bhs.writeUInt32BE(this.maxCmdSN, 32);
  }

  // ---- the login phase's view of the connection -------------------------------------

  startNumbering(cmdSN: number, statSN: number): void {
    this.expCmdSN = cmdSN;
    this.maxCmdSN = cmdSN;
    this.statSN = statSN;
  }

  enterFullFeature(params: SessionParams): void {
    clearTimeout(this.loginTimer);
    this.phase = 'ffp';
    this.reader.digests = { header: params.headerDigest, data: params.dataDigest };
    this.reader.maxDataSegment = params.ourMaxRecv;
  }

  reinstate(sessionKey: string): Promise<void> {
    return this.host.reinstate(sessionKey, this);
  }

  endRefused(): void {
    this.phase = 'closed';
    this.reader.stop();
    clearTimeout(this.loginTimer);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.host.forget(this);
  }

  // ---- the full feature phase -------------------------------------------------------

  private onPdu(p: Pdu): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'login') {
      this.loginPhase.onPdu(p);
      return;
    }
    const op = opcode(p.bhs);
    if (op === Op.DataOut) {
      this.collector.onDataOut(p);
      return;
    }
    if (op === Op.NopOut && itt(p.bhs) === NO_TAG) return; // an answer to a ping of ours
    if (op === Op.LoginReq) throw new ProtocolError('login request in the full feature phase');
    const cmdSN = u32(p.bhs, 24);
    if (isImmediate(p.bhs)) {
      this.dispatch(p);
      return;
    }
    if (cmdSN === this.expCmdSN) {
      this.expCmdSN = (this.expCmdSN + 1) >>> 0;
      this.dispatch(p);
      for (let next = this.pending.get(this.expCmdSN); next; next = this.pending.get(this.expCmdSN)) {
        this.pending.delete(this.expCmdSN);
        this.expCmdSN = (this.expCmdSN + 1) >>> 0;
        this.dispatch(next);
      }
    } else if (snLess(this.expCmdSN, cmdSN) && !snLess(this.maxCmdSN, cmdSN)) {
      this.pending.set(cmdSN, { bhs: p.bhs, data: Buffer.from(p.data) });
    }
    // otherwise outside the window: dropped silently (RFC 7143 §4.2.2.1)
  }

  private dispatch(p: Pdu): void {
    const bhs = p.bhs;
    switch (opcode(bhs)) {
      case Op.ScsiCommand:
        this.onCommand(p);
        return;
      case Op.NopOut: {
        const r = newBhs(Op.NopIn, 0x80);
        bhs.copy(r, 8, 8, 16);
        r.writeUInt32BE(itt(bhs), 16);
        r.writeUInt32BE(NO_TAG, 20);
        this.stamp(r, true);
        this.send(r, p.data.length ? Buffer.from(p.data) : undefined);
        return;
      }
      case Op.TextReq:
        this.onText(p);
        return;
      case Op.LogoutReq:
        this.onLogout(p);
        return;
      case Op.TaskMgmt: {
        const fn = bhs[1]! & 0x7f;
        const r = newBhs(Op.TaskMgmtResp, 0x80);
        r[2] = fn >= 1 && fn <= 7 ? 0 : fn === 8 ? 4 : 5;
        r.writeUInt32BE(itt(bhs), 16);
        if (fn === 1) this.collector.abort(u32(bhs, 20));
        this.stamp(r, true);
        this.send(r);
        return;
      }
      default:
        this.reject(bhs, 0x05);
    }
  }

  private reject(bhs: Buffer, reason: number): void {
    const r = newBhs(Op.Reject, 0x80);
    r[2] = reason;
    r.writeUInt32BE(NO_TAG, 16);
    this.stamp(r, true);
    this.send(r, Buffer.from(bhs));
  }

  private onText(p: Pdu): void {
    let pairs: TextPairs;
    try {
      pairs = decodeText(p.data);
    } catch {
      this.reject(p.bhs, 0x09);
      return;
    }
    const out: TextPairs = [];
    for (const [k, v] of pairs) {
      if (k === 'SendTargets') out.push(...this.host.sendTargets(this.initiatorName, v, this.socket.localAddress ?? '127.0.0.1'));
      else out.push([k, 'NotUnderstood']);
    }
    const r = newBhs(Op.TextResp, 0x80);
    r.writeUInt32BE(itt(p.bhs), 16);
    r.writeUInt32BE(NO_TAG, 20);
    this.stamp(r, true);
    this.send(r, encodeText(out));
  }

  private onLogout(p: Pdu): void {
    const reason = p.bhs[1]! & 0x7f;
    void this.settled().then(() => {
      const r = newBhs(Op.LogoutResp, 0x80);
      r[2] = reason <= 1 ? 0 : 2;
      r.writeUInt32BE(itt(p.bhs), 16);
      this.stamp(r, true);
      this.send(r);
      this.socket.end();
      this.phase = 'closed';
      this.reader.stop();
      this.host.forget(this);
    });
  }

  // ---- SCSI commands ----------------------------------------------------------------

  private onCommand(p: Pdu): void {
    const bhs = p.bhs;
    const lun = decodeLun(bhs, 8);
    const cdb = Buffer.from(bhs.subarray(32, 48));
    if (this.loginPhase.login.sessionType !== 'Normal') {
      this.reject(bhs, 0x04);
      return;
    }
    if ((flags(bhs) & 0x20) === 0) {
      if (p.data.length > 0) throw new ProtocolError('immediate data on a command without the W bit');
      this.run(itt(bhs), bhs, lun, cdb, u32(bhs, 20), undefined, 0);
      return;
    }
    this.collector.begin(p, lun, cdb, dataOutLength(cdb, this.host.lunFor(this.initiatorName, lun)));
  }

  private runWrite(w: CollectedWrite): void {
    this.run(w.itt, w.cmdBhs, w.lun, w.cdb, w.edtl, w.data, w.r2ts, () => this.buffers.release(w.buffer));
  }

  /** `done` runs once the command no longer needs `dataOut`. */
  private run(tag: number, cmd: Buffer, lun: number, cdb: Buffer, edtl: number, dataOut: Buffer | undefined, r2ts: number, done?: () => void): void {
    const initiator = this.initiatorName;
    const store = this.host.lunFor(initiator, lun);
    let exec = cdb;
    let short = dataOut !== undefined && dataOut.length < dataOutLength(cdb, store);
    if (short && store && (cdb[0] === 0x2a || cdb[0] === 0xaa || cdb[0] === 0x8a)) {
      // EDTL below the CDB's length: write only the whole blocks that arrived (overflow residual).
      exec = withBlocks(cdb, Math.floor(dataOut!.length / store.blockSize));
      short = false;
    }
    const job = (short ? Promise.resolve(invalidField()) : executeScsi(exec, {
      store, visibleLuns: this.host.visibleLuns(initiator), identity: this.host.identity, targetIqn: this.host.policy.targetIqn,
      readBuffer: (n) => this.buffers.take(n),
    }, dataOut)).then((result) => {
      done?.();
      this.complete(tag, cmd, cdb, edtl, dataOut, result, r2ts);
    });
    this.running.add(job);
    void job.finally(() => this.running.delete(job));
  }

  private complete(tag: number, cmd: Buffer, cdb: Buffer, edtl: number, dataOut: Buffer | undefined, result: ScsiResult, r2ts: number): void {
    const lent = result.data;
    const giveBack = lent ? () => this.buffers.release(lent) : undefined;
    if (this.phase !== 'ffp') {
      giveBack?.();
      return;
    }
    const isWrite = dataOut !== undefined || (flags(cmd) & 0x20) !== 0;
    const writeNeeds = isWrite ? dataOutLength(cdb, this.host.lunFor(this.initiatorName, decodeLun(cmd, 8))) : undefined;
    // All the PDUs of the answer leave in one gathered write.
    this.socket.cork();
    sendCommandResult(this, this.params, { tag, cmd, cdb, edtl, result, r2ts, ...(writeNeeds !== undefined ? { writeNeeds } : {}) }, giveBack);
    this.socket.uncork();
  }
}
