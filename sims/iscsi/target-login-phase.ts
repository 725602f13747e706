/**
 * @module
 * The login phase of one connection to the simulated target, at the PDU level: it joins
 * continued Login requests, hands each complete one to `TargetLogin` (which negotiates),
 * answers with Login responses, refuses with the RFC's status classes, and on the final
 * step allocates the TSIH and — for a Normal session — has the target end any older
 * session with the same initiator and ISID before answering (session reinstatement), so
 * the old session's tasks are over before the new one runs a command. Kept apart from
 * the full feature phase, which never sees a Login PDU.
 */
import type { Socket } from 'node:net';
import type { SessionParams } from '../../src/storage/iscsi/negotiation.js';
import { decodeText, encodeText, flags, itt, newBhs, Op, opcode, u32, type Pdu } from '../../src/storage/iscsi/pdu.js';
import { ProtocolError } from '../../src/storage/iscsi/pdu-reader.js';
import { LoginRefused, TargetLogin, type LoginStep } from './target-login.js';
import type { TargetHost } from './target-connection.js';

/** What the login phase needs from its connection. */
export interface LoginConnection {
  readonly socket: Socket;
  send(bhs: Buffer, data?: Buffer): void;
  /** Fills StatSN/ExpCmdSN/MaxCmdSN; `consume` advances StatSN. */
  stamp(bhs: Buffer, consume: boolean): void;
  /** The first Login request says where CmdSN and StatSN start. */
  startNumbering(cmdSN: number, statSN: number): void;
  enterFullFeature(params: SessionParams): void;
  /** Ends the older session with this key; resolves when its tasks are over. */
  reinstate(sessionKey: string): Promise<void>;
  /** After a refusal is sent: stop reading, close gently. */
  endRefused(): void;
  fail(e: Error): void;
}

export class TargetLoginPhase {
  readonly login: TargetLogin;
  readonly isid = Buffer.alloc(6);
  /** `initiator|isid`, the key a reinstatement looks up; set when a Normal login completes. */
  sessionKey = '';
  private tsih = 0;
  private first = true;
  private text: Buffer[] = [];

  constructor(private readonly conn: LoginConnection, private readonly host: TargetHost) {
    this.login = new TargetLogin(host.policy);
  }

  onPdu(p: Pdu): void {
    const bhs = p.bhs;
    if (opcode(bhs) !== Op.LoginReq) throw new ProtocolError(`opcode 0x${opcode(bhs).toString(16)} before login completed`);
    const f = flags(bhs);
    const transit = (f & 0x80) !== 0;
    const cont = (f & 0x40) !== 0;
    if (transit && cont) throw new ProtocolError('login request with both T and C set');
    if (this.first) {
      this.first = false;
      bhs.copy(this.isid, 0, 8, 14);
      this.conn.startNumbering(u32(bhs, 24), u32(bhs, 28));
      if (bhs[3]! > 0) return this.refuse(bhs, new LoginRefused(2, 5, 'unsupported version'));
      if (bhs.readUInt16BE(14) !== 0) return this.refuse(bhs, new LoginRefused(2, 10, 'adding connections to a session is not supported'));
    }
    this.text.push(Buffer.from(p.data));
    if (cont) {
      // More text follows: acknowledge with an empty response in the same stages.
      const r = newBhs(Op.LoginResp, f & 0x0f);
      this.isid.copy(r, 8);
      r.writeUInt32BE(itt(bhs), 16);
      this.conn.stamp(r, true);
      this.conn.send(r);
      return;
    }
    const text = Buffer.concat(this.text);
    this.text = [];
    let step: LoginStep;
    try {
      step = this.login.step((f >> 2) & 3, f & 3, transit, decodeText(text));
    } catch (e) {
      return this.refuse(bhs, e instanceof LoginRefused ? e : new LoginRefused(2, 0, e instanceof Error ? e.message : String(e)));
    }
    const finish = step.transit && step.nsg === 3;
    if (!finish) return this.respond(bhs, step, false);
    this.tsih = this.host.allocateTsih();
    if (this.login.sessionType !== 'Normal') return this.respond(bhs, step, true);
    this.sessionKey = `${this.login.initiatorName}|${this.isid.toString('hex')}`;
    // Nothing more is read until the older session with this ISID is gone.
    this.conn.socket.pause();
    this.conn.reinstate(this.sessionKey).then(() => {
      this.conn.socket.resume();
      this.respond(bhs, step, true);
    }, (e: unknown) => this.conn.fail(e instanceof Error ? e : new Error(String(e))));
  }

  private respond(req: Buffer, step: LoginStep, finish: boolean): void {
    const r = newBhs(Op.LoginResp, (step.transit ? 0x80 : 0) | (step.csg << 2) | step.nsg);
    this.isid.copy(r, 8);
    if (finish) r.writeUInt16BE(this.tsih, 14);
    r.writeUInt32BE(itt(req), 16);
    this.conn.stamp(r, true);
    this.conn.send(r, encodeText(step.pairs));
    if (finish) this.conn.enterFullFeature(this.login.params);
  }

  private refuse(req: Buffer, e: LoginRefused): void {
    this.host.log(`iscsi target: login refused (${e.statusClass}/${e.statusDetail}): ${e.message}`);
    const r = newBhs(Op.LoginResp, 0);
    this.isid.copy(r, 8);
    r.writeUInt32BE(itt(req), 16);
    this.conn.stamp(r, true);
    r[36] = e.statusClass;
    r[37] = e.statusDetail;
    this.conn.send(r);
    this.conn.endRefused();
  }
}
