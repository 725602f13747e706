/**
 * @module
 * One initiator connection to the simulated target: login, then the full feature phase
 * (RFC 7143 §4–§11) with one session per connection (MaxConnections=1, ErrorRecoveryLevel
 * 0). It enforces the CmdSN window (commands outside it are dropped, as the RFC says),
 * collects write data from immediate data, unsolicited Data-Out and R2T-solicited
 * sequences (up to MaxOutstandingR2T per task), returns read data in Data-In PDUs no
 * longer than the initiator's MaxRecvDataSegmentLength, and reports residuals. A peer that
 * breaks the protocol loses its own connection and nothing else.
 */
import type { Socket } from 'node:net';
import { decodeLun, decodeText, encodePdu, encodeText, flags, isImmediate, itt, newBhs, NO_TAG, Op, opcode, snLess, textGet, u32, type Pdu, type TextPairs } from '../../src/storage/iscsi/pdu.js';
import { PduReader, ProtocolError } from '../../src/storage/iscsi/pdu-reader.js';
import type { LunStore } from './lun-store.js';
import { dataOutLength, executeScsi } from './scsi-executor.js';
import type { TargetIdentity } from './scsi-inquiry.js';
import { invalidField, Status, type ScsiResult } from './scsi-sense.js';
import { LoginRefused, TargetLogin, type LoginPolicy } from './target-login.js';

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
/** Largest expected data transfer length a write may announce. */
const MAX_WRITE_BUFFER = 64 * 1024 * 1024;

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

export class TargetConnection {
  private readonly reader: PduReader;
  private readonly login: TargetLogin;
  private phase: 'login' | 'ffp' | 'closed' = 'login';
  private statSN = 0;
  private expCmdSN = 0;
  private maxCmdSN = 0;
  private isid = Buffer.alloc(6);
  private tsih = 0;
  private loginItt = 0;
  private firstLogin = true;
  private loginText: Buffer[] = [];
  private readonly pending = new Map<number, Pdu>();
  private readonly writes = new Map<number, WriteTask>();
  private nextTtt = 1;
  private readonly running = new Set<Promise<void>>();
  /** The buffer allocated for a write command whose immediate data was read into it. */
  private preallocated: { itt: number; buf: Buffer } | undefined;
  private loginTimer: NodeJS.Timeout | undefined;
  sessionKey = '';

  constructor(private readonly socket: Socket, private readonly host: TargetHost) {
    this.login = new TargetLogin(host.policy);
    socket.setNoDelay(true);
    this.reader = new PduReader(socket, (p) => this.onPdu(p), (e) => this.fail(e));
    this.reader.maxDataSegment = 8192;
    this.reader.placeData = (bhs) => this.placeData(bhs);
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    this.loginTimer = setTimeout(() => this.fail(new ProtocolError('login did not complete in time')), host.timeouts.loginMs);
  }

  get initiatorName(): string {
    return this.login.initiatorName;
  }

  /** Drops the connection; running tasks finish but send nothing. */
  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.loginTimer);
    for (const t of this.writes.values()) clearTimeout(t.timer);
    this.writes.clear();
    this.reader.stop();
    this.socket.destroy();
    this.host.forget(this);
  }

  /** Resolves when every task this connection started has finished. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private fail(e: Error): void {
    if (this.phase === 'closed') return;
    this.host.log(`iscsi target: dropping ${this.login.initiatorName || this.socket.remoteAddress}: ${e.message}`);
    this.close();
  }

  private send(bhs: Buffer, data?: Buffer): void {
    if (this.phase === 'closed') return;
    const bufs = encodePdu(bhs, data, this.reader.digests);
    this.socket.cork();
    for (const b of bufs) this.socket.write(b);
    this.socket.uncork();
  }

  /** Fills StatSN/ExpCmdSN/MaxCmdSN; `consume` advances StatSN. */
  private sns(bhs: Buffer, consume: boolean): void {
    bhs.writeUInt32BE(this.statSN, 24);
    if (consume) this.statSN = (this.statSN + 1) >>> 0;
    const max = (this.expCmdSN + QUEUE_DEPTH - 1 - Math.min(this.running.size, QUEUE_DEPTH - 1)) >>> 0;
    if (snLess(this.maxCmdSN, max)) this.maxCmdSN = max;
    bhs.writeUInt32BE(this.expCmdSN, 28);
    bhs.writeUInt32BE(this.maxCmdSN, 32);
  }

  private onPdu(p: Pdu): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'login') {
      this.onLoginPdu(p);
      return;
    }
    const op = opcode(p.bhs);
    if (op === Op.DataOut) {
      this.onDataOut(p);
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
        this.sns(r, true);
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
        if (fn === 1) {
          const ref = u32(bhs, 20);
          const w = this.writes.get(ref);
          if (w) {
            clearTimeout(w.timer);
            this.writes.delete(ref);
          }
        }
        this.sns(r, true);
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
    this.sns(r, true);
    this.send(r, Buffer.from(bhs));
  }

  /** Lets write data go from the socket straight into its task's buffer (one copy). */
  private placeData(bhs: Buffer): Buffer | undefined {
    if (this.phase !== 'ffp') return undefined;
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
      const buf = Buffer.allocUnsafe(edtl);
      this.preallocated = { itt: itt(bhs), buf };
      return buf.subarray(0, len);
    }
    return undefined;
  }

  // ---- login ------------------------------------------------------------------------

  private onLoginPdu(p: Pdu): void {
    const bhs = p.bhs;
    if (opcode(bhs) !== Op.LoginReq) throw new ProtocolError(`opcode 0x${opcode(bhs).toString(16)} before login completed`);
    const f = flags(bhs);
    const transit = (f & 0x80) !== 0;
    const cont = (f & 0x40) !== 0;
    if (transit && cont) throw new ProtocolError('login request with both T and C set');
    if (this.firstLogin) {
      this.firstLogin = false;
      bhs.copy(this.isid, 0, 8, 14);
      this.loginItt = itt(bhs) || 1;
      this.expCmdSN = u32(bhs, 24);
      this.maxCmdSN = this.expCmdSN;
      this.statSN = u32(bhs, 28);
      if (bhs[3]! > 0) return this.refuse(bhs, new LoginRefused(2, 5, 'unsupported version'));
      if (bhs.readUInt16BE(14) !== 0) return this.refuse(bhs, new LoginRefused(2, 10, 'adding connections to a session is not supported'));
    }
    this.loginText.push(Buffer.from(p.data));
    if (cont) {
      const r = newBhs(Op.LoginResp, f & 0x0f);
      this.isid.copy(r, 8);
      r.writeUInt32BE(itt(bhs), 16);
      this.sns(r, true);
      this.send(r);
      return;
    }
    const text = Buffer.concat(this.loginText);
    this.loginText = [];
    let step;
    try {
      const pairs = decodeText(text);
      step = this.login.step((f >> 2) & 3, f & 3, transit, pairs);
    } catch (e) {
      return this.refuse(bhs, e instanceof LoginRefused ? e : new LoginRefused(2, 0, e instanceof Error ? e.message : String(e)));
    }
    const finish = step.transit && step.nsg === 3;
    const respond = (): void => {
      const r = newBhs(Op.LoginResp, (step.transit ? 0x80 : 0) | (step.csg << 2) | step.nsg);
      this.isid.copy(r, 8);
      if (finish) r.writeUInt16BE(this.tsih, 14);
      r.writeUInt32BE(itt(bhs), 16);
      this.sns(r, true);
      this.send(r, encodeText(step.pairs));
      if (finish) {
        clearTimeout(this.loginTimer);
        this.phase = 'ffp';
        const params = this.login.params;
        this.reader.digests = { header: params.headerDigest, data: params.dataDigest };
        this.reader.maxDataSegment = params.ourMaxRecv;
      }
    };
    if (finish && this.login.sessionType === 'Normal') {
      this.tsih = this.host.allocateTsih();
      this.sessionKey = `${this.login.initiatorName}|${this.isid.toString('hex')}`;
      this.socket.pause();
      this.host.reinstate(this.sessionKey, this).then(() => {
        this.socket.resume();
        respond();
      }, (e: unknown) => this.fail(e instanceof Error ? e : new Error(String(e))));
      return;
    }
    if (finish) this.tsih = this.host.allocateTsih();
    respond();
  }

  private refuse(bhs: Buffer, e: LoginRefused): void {
    this.host.log(`iscsi target: login refused (${e.statusClass}/${e.statusDetail}): ${e.message}`);
    const r = newBhs(Op.LoginResp, 0);
    this.isid.copy(r, 8);
    r.writeUInt32BE(itt(bhs), 16);
    this.sns(r, true);
    r[36] = e.statusClass;
    r[37] = e.statusDetail;
    this.send(r);
    this.phase = 'closed';
    this.reader.stop();
    clearTimeout(this.loginTimer);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.host.forget(this);
  }

  // ---- text and logout ------------------------------------------------------------

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
      if (k === 'SendTargets') out.push(...this.host.sendTargets(this.login.initiatorName, v, this.socket.localAddress ?? '127.0.0.1'));
      else out.push([k, 'NotUnderstood']);
    }
    const r = newBhs(Op.TextResp, 0x80);
    r.writeUInt32BE(itt(p.bhs), 16);
    r.writeUInt32BE(NO_TAG, 20);
    this.sns(r, true);
    this.send(r, encodeText(out));
  }

  private onLogout(p: Pdu): void {
    const reason = p.bhs[1]! & 0x7f;
    void this.settled().then(() => {
      const r = newBhs(Op.LogoutResp, 0x80);
      r[2] = reason <= 1 ? 0 : 2;
      r.writeUInt32BE(itt(p.bhs), 16);
      this.sns(r, true);
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
    const f = flags(bhs);
    const lun = decodeLun(bhs, 8);
    const cdb = Buffer.from(bhs.subarray(32, 48));
    const edtl = u32(bhs, 20);
    const tag = itt(bhs);
    const write = (f & 0x20) !== 0;
    if (this.login.sessionType !== 'Normal') {
      this.reject(bhs, 0x04);
      return;
    }
    if (!write) {
      if (p.data.length > 0) throw new ProtocolError('immediate data on a command without the W bit');
      this.run(tag, bhs, lun, cdb, edtl, undefined, 0);
      return;
    }
    const params = this.login.params;
    if (p.data.length > edtl || p.data.length > params.firstBurstLength) throw new ProtocolError('immediate data exceeds the expected length or FirstBurstLength');
    if (p.data.length > 0 && !params.immediateData) throw new ProtocolError('immediate data was not negotiated');
    const store = this.host.lunFor(this.login.initiatorName, lun);
    const want = Math.min(edtl, dataOutLength(cdb, store));
    if (this.writes.has(tag)) throw new ProtocolError(`task tag ${tag} is already in use`);
    const pre = this.preallocated?.itt === tag ? this.preallocated.buf : undefined;
    this.preallocated = undefined;
    if (edtl > MAX_WRITE_BUFFER) throw new ProtocolError(`a write of ${edtl} bytes is beyond what the target accepts`);
    const task: WriteTask = {
      itt: tag, cmdBhs: bhs, lun, cdb, edtl, want, buf: pre ?? Buffer.allocUnsafe(edtl), received: p.data.length,
      unsolicitedOpen: (f & 0x80) === 0, nextOffset: 0, r2ts: new Map(), r2tsn: 0,
    };
    if (task.unsolicitedOpen && params.initialR2T) throw new ProtocolError('unsolicited Data-Out with InitialR2T=Yes');
    if (!pre) p.data.copy(task.buf, 0);
    task.nextOffset = task.unsolicitedOpen ? Math.min(edtl, params.firstBurstLength) : p.data.length;
    this.writes.set(tag, task);
    this.armTimer(task);
    this.advanceWrite(task);
  }

  private armTimer(task: WriteTask): void {
    clearTimeout(task.timer);
    task.timer = setTimeout(() => this.fail(new ProtocolError(`no Data-Out for task ${task.itt} in time`)), this.host.timeouts.dataOutMs);
  }

  private onDataOut(p: Pdu): void {
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
      if (offset + len > this.login.params.firstBurstLength) throw new ProtocolError('unsolicited data beyond FirstBurstLength');
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
    this.advanceWrite(task);
  }

  /** Sends the R2Ts the task may have outstanding, or runs it once all data is in. */
  private advanceWrite(task: WriteTask): void {
    if (task.unsolicitedOpen) return;
    const params = this.login.params;
    while (task.nextOffset < task.want && task.r2ts.size < params.maxOutstandingR2T) {
      const length = Math.min(params.maxBurstLength, task.want - task.nextOffset);
      const ttt = this.nextTtt;
      this.nextTtt = this.nextTtt >= 0x7fffffff ? 1 : this.nextTtt + 1;
      task.r2ts.set(ttt, { offset: task.nextOffset, length, got: 0 });
      const r = newBhs(Op.R2T, 0x80);
      task.cmdBhs.copy(r, 8, 8, 16);
      r.writeUInt32BE(task.itt, 16);
      r.writeUInt32BE(ttt, 20);
      this.sns(r, false);
      r.writeUInt32BE(task.r2tsn++, 36);
      r.writeUInt32BE(task.nextOffset, 40);
      r.writeUInt32BE(length, 44);
      this.send(r);
      task.nextOffset += length;
    }
    if (task.r2ts.size === 0 && task.nextOffset >= task.want) {
      clearTimeout(task.timer);
      this.writes.delete(task.itt);
      this.run(task.itt, task.cmdBhs, task.lun, task.cdb, task.edtl, task.buf.subarray(0, task.want), task.r2tsn);
    }
  }

  private run(tag: number, bhs: Buffer, lun: number, cdb: Buffer, edtl: number, dataOut: Buffer | undefined, r2ts: number): void {
    const initiator = this.login.initiatorName;
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
    }, dataOut)).then((res) => this.complete(tag, bhs, cdb, edtl, dataOut, res, r2ts));
    this.running.add(job);
    void job.finally(() => this.running.delete(job));
  }

  private complete(tag: number, cmd: Buffer, cdb: Buffer, edtl: number, dataOut: Buffer | undefined, res: ScsiResult, r2ts: number): void {
    if (this.phase !== 'ffp') return;
    const readDir = (flags(cmd) & 0x40) !== 0;
    let data = res.data ? truncateToAllocation(cdb, res.data) : undefined;
    let resFlags = 0;
    let residual = 0;
    if (dataOut !== undefined || (flags(cmd) & 0x20) !== 0) {
      const needed = dataOutLength(cdb, this.host.lunFor(this.login.initiatorName, decodeLun(cmd, 8)));
      if (needed < edtl) {
        resFlags = 0x02;
        residual = edtl - needed;
      } else if (needed > edtl) {
        resFlags = 0x04;
        residual = needed - edtl;
      }
    } else if (data) {
      const len = data.length;
      if (!readDir && len > 0) {
        resFlags = 0x04;
        residual = len;
        data = undefined;
      } else if (len < edtl) {
        resFlags = 0x02;
        residual = edtl - len;
      } else if (len > edtl) {
        resFlags = 0x04;
        residual = len - edtl;
        data = data.subarray(0, edtl);
      }
    } else if (edtl > 0) {
      resFlags = 0x02;
      residual = edtl;
    }
    let dataSN = 0;
    if (data && data.length > 0) {
      const params = this.login.params;
      const max = params.peerMaxRecv;
      for (let off = 0; off < data.length; off += max) {
        const n = Math.min(max, data.length - off);
        const last = off + n >= data.length;
        const endOfBurst = last || (off + n) % params.maxBurstLength === 0;
        const withStatus = last && res.status === Status.Good;
        const r = newBhs(Op.DataIn, (endOfBurst ? 0x80 : 0) | (withStatus ? 0x01 | resFlags : 0));
        cmd.copy(r, 8, 8, 16);
        r.writeUInt32BE(tag, 16);
        r.writeUInt32BE(NO_TAG, 20);
        this.sns(r, withStatus);
        r.writeUInt32BE(dataSN++, 36);
        r.writeUInt32BE(off, 40);
        if (withStatus) {
          r[3] = res.status;
          r.writeUInt32BE(residual, 44);
        }
        this.send(r, data.subarray(off, off + n));
      }
      if (res.status === Status.Good) return;
    }
    const r = newBhs(Op.ScsiResponse, 0x80 | resFlags);
    r[3] = res.status;
    r.writeUInt32BE(tag, 16);
    this.sns(r, true);
    r.writeUInt32BE(dataSN + r2ts, 36);
    r.writeUInt32BE(residual, 44);
    let payload: Buffer | undefined;
    if (res.sense) {
      payload = Buffer.alloc(2 + res.sense.length);
      payload.writeUInt16BE(res.sense.length, 0);
      res.sense.copy(payload, 2);
    }
    this.send(r, payload);
  }
}

const samePlace = (data: Buffer, buf: Buffer, offset: number): boolean => data.buffer === buf.buffer && data.byteOffset === buf.byteOffset + offset;

/** A copy of a WRITE(10/12/16) CDB with another transfer length. */
function withBlocks(cdb: Buffer, blocks: number): Buffer {
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
