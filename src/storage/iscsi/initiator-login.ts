/**
 * @module
 * The initiator's half of an iSCSI login (RFC 7143 §6.3): optional security stage with
 * CHAP (one-way, or mutual with our own challenge and a check of the target's answer),
 * then operational negotiation, exchanging Login PDUs until the target grants the move to
 * the full feature phase (a target may answer T=0 and want another round). All PDUs of a
 * login share one ITT and one CmdSN; ExpStatSN follows the target's StatSN.
 */
import { IscsiError, type IscsiCredentials } from '../../core/ports/iscsi-initiator.js';
import { chapResponse, decodeBinary, encodeBinary, newChallenge, sameBytes } from './chap.js';
import { applyAnswers, defaultParams, KEYS, NegotiationError, offerPairs, respond, type SessionParams } from './negotiation.js';
import { decodeText, encodeText, flags, newBhs, Op, opcode, textGet, u32, type Pdu, type TextPairs } from './pdu.js';
import type { Wire } from './wire.js';

export interface LoginRequest {
  isid: Buffer;
  targetIqn?: string;
  sessionType: 'Normal' | 'Discovery';
  creds: IscsiCredentials;
  wishes: SessionParams;
  cmdSN: number;
  timeoutMs: number;
}

export interface LoginResult {
  params: SessionParams;
  tsih: number;
  /** StatSN the next status PDU will carry. */
  expStatSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}

const STATUS_TEXT: Record<number, [string, string]> = {
  0x0101: ['LOGIN_FAILED', 'target moved temporarily'], 0x0102: ['LOGIN_FAILED', 'target moved permanently'],
  0x0200: ['LOGIN_FAILED', 'initiator error'], 0x0201: ['AUTH_FAILED', 'authentication failed'],
  0x0202: ['AUTH_FAILED', 'authorization failed'], 0x0203: ['NOT_FOUND', 'target not found'],
  0x0204: ['NOT_FOUND', 'target removed'], 0x0205: ['LOGIN_FAILED', 'unsupported version'],
  0x0206: ['LOGIN_FAILED', 'too many connections'], 0x0207: ['LOGIN_FAILED', 'missing parameter'],
  0x0208: ['LOGIN_FAILED', 'cannot include in session'], 0x0209: ['LOGIN_FAILED', 'session type not supported'],
  0x020a: ['LOGIN_FAILED', 'session does not exist'], 0x020b: ['LOGIN_FAILED', 'invalid request during login'],
  0x0300: ['LOGIN_FAILED', 'target error'], 0x0301: ['LOGIN_FAILED', 'service unavailable'],
  0x0302: ['LOGIN_FAILED', 'out of resources'],
};

export async function login(wire: Wire, req: LoginRequest): Promise<LoginResult> {
  const itt = (Math.random() * 0x7fffffff) >>> 0;
  let expStatSN = 0;
  let expCmdSN = req.cmdSN;
  let maxCmdSN = req.cmdSN;
  let tsih = 0;
  let first = true;
  const exchange = async (csg: number, nsg: number, transit: boolean, pairs: TextPairs): Promise<{ pairs: TextPairs; transit: boolean; csg: number; nsg: number }> => {
    let data = encodeText(pairs);
    const answer: Buffer[] = [];
    for (;;) {
      const bhs = newBhs(Op.LoginReq, (transit ? 0x80 : 0) | (csg << 2) | nsg, true);
      req.isid.copy(bhs, 8);
      bhs.writeUInt32BE(itt, 16);
      bhs.writeUInt32BE(req.cmdSN, 24);
      bhs.writeUInt32BE(expStatSN, 28);
      wire.send(bhs, data.length ? data : undefined);
      data = Buffer.alloc(0);
      const p: Pdu = await wire.next(req.timeoutMs);
      const r = p.bhs;
      if (opcode(r) !== Op.LoginResp) throw new IscsiError('PROTOCOL', `expected a login response, got opcode 0x${opcode(r).toString(16)}`);
      if (u32(r, 16) !== itt) throw new IscsiError('PROTOCOL', 'login response for another task tag');
      const status = (r[36]! << 8) | r[37]!;
      if (status !== 0) {
        const [kind, text] = STATUS_TEXT[status] ?? ['LOGIN_FAILED', 'refused'];
        throw new IscsiError(kind, `login refused by the target: ${text} (0x${status.toString(16).padStart(4, '0')})`, { statusClass: r[36]!, statusDetail: r[37]! });
      }
      expStatSN = (u32(r, 24) + 1) >>> 0;
      expCmdSN = u32(r, 28);
      maxCmdSN = u32(r, 32);
      if (first && r[3]! !== 0) throw new IscsiError('PROTOCOL', `target speaks iSCSI version ${r[3]}`);
      first = false;
      answer.push(p.data);
      const f = flags(r);
      if (f & 0x40) continue; // more text follows: ask for it with an empty request
      const tr = (f & 0x80) !== 0;
      if (tr) tsih = r.readUInt16BE(14);
      let decoded: TextPairs;
      try {
        decoded = decodeText(Buffer.concat(answer));
      } catch (e) {
        throw new IscsiError('PROTOCOL', `login response: ${(e as Error).message}`);
      }
      return { pairs: decoded, transit: tr, csg: (f >> 2) & 3, nsg: f & 3 };
    }
  };

  const names: TextPairs = [['InitiatorName', req.creds.initiatorIqn], ['SessionType', req.sessionType]];
  if (req.sessionType === 'Normal') names.splice(1, 0, ['TargetName', req.targetIqn!]);
  let pending: TextPairs = names;

  if (req.creds.chap) {
    let r = await exchange(0, 1, true, [...pending, ['AuthMethod', 'CHAP,None']]);
    pending = [];
    const method = textGet(r.pairs, 'AuthMethod');
    if (method === 'CHAP') {
      r = await exchange(0, 1, false, [['CHAP_A', '5']]);
      const alg = textGet(r.pairs, 'CHAP_A');
      const id = textGet(r.pairs, 'CHAP_I');
      const chal = textGet(r.pairs, 'CHAP_C');
      if (alg !== '5' || id === undefined || chal === undefined || !/^[0-9]+$/.test(id) || Number(id) > 255) {
        throw new IscsiError('PROTOCOL', 'the target sent no usable CHAP challenge');
      }
      let challenge: Buffer;
      try {
        challenge = decodeBinary(chal);
      } catch (e) {
        throw new IscsiError('PROTOCOL', (e as Error).message);
      }
      const out: TextPairs = [['CHAP_N', req.creds.chap.user], ['CHAP_R', encodeBinary(chapResponse(Number(id), req.creds.chap.secret, challenge))]];
      const ours = req.creds.mutualChap ? newChallenge() : undefined;
      if (ours) {
        if (sameBytes(ours.challenge, challenge)) throw new IscsiError('AUTH_FAILED', 'the target reflected our challenge');
        out.push(['CHAP_I', String(ours.id)], ['CHAP_C', encodeBinary(ours.challenge)]);
      }
      r = await exchange(0, 1, true, out);
      if (ours && req.creds.mutualChap) {
        const n = textGet(r.pairs, 'CHAP_N');
        const resp = textGet(r.pairs, 'CHAP_R');
        let got: Buffer | undefined;
        try {
          got = resp === undefined ? undefined : decodeBinary(resp);
        } catch {
          got = undefined;
        }
        if (n !== req.creds.mutualChap.user || !got || !sameBytes(got, chapResponse(ours.id, req.creds.mutualChap.secret, ours.challenge))) {
          throw new IscsiError('AUTH_FAILED', 'the target failed mutual CHAP authentication');
        }
      }
    } else if (req.creds.mutualChap) {
      throw new IscsiError('AUTH_FAILED', 'the target did not authenticate itself (mutual CHAP was asked for)');
    }
    while (!r.transit) r = await exchange(0, 1, true, []);
    if (r.nsg === 3) return finish(defaultParams());
  }

  const params = defaultParams();
  params.ourMaxRecv = req.wishes.ourMaxRecv;
  const offer = offerPairs(req.wishes, req.sessionType === 'Normal');
  let r = await exchange(1, 3, true, [...pending, ...offer]);
  const offered = new Set(offer.map(([k]) => k));
  for (;;) {
    const theirs = r.pairs.filter(([k]) => !offered.has(k) || KEYS[k]?.kind === 'declare');
    const answered = r.pairs.filter(([k]) => offered.has(k));
    try {
      applyAnswers(answered, req.wishes, params);
      const reply = respond(theirs.filter(([k]) => KEYS[k] && KEYS[k]!.kind !== 'declare'), req.wishes, params, true);
      for (const [k, v] of theirs) if (KEYS[k]?.kind === 'declare') applyAnswers([[k, v]], req.wishes, params);
      if (r.transit && r.nsg === 3) return finish(params);
      r = await exchange(1, 3, true, reply);
    } catch (e) {
      if (e instanceof NegotiationError) throw new IscsiError('LOGIN_FAILED', `negotiation failed: ${e.message}`);
      throw e;
    }
  }

  function finish(p: SessionParams): LoginResult {
    if (req.sessionType === 'Normal' && tsih === 0) throw new IscsiError('PROTOCOL', 'the target gave the session no TSIH');
    return { params: p, tsih, expStatSN, expCmdSN, maxCmdSN };
  }
}
