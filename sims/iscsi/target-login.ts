/**
 * @module
 * The target's half of an iSCSI login (RFC 7143 §6.3, §11.12–11.13): the security stage
 * with CHAP (one-way and mutual, refusing a reflected challenge), the operational stage
 * with text negotiation, and the status codes a refused login ends with. It consumes
 * one complete login request (continuations already joined) at a time and says what to
 * answer; the connection sends it and applies the outcome.
 */
import { chapResponse, decodeBinary, encodeBinary, newChallenge, sameBytes } from '../../src/storage/iscsi/chap.js';
import { defaultParams, NegotiationError, respond, type SessionParams } from '../../src/storage/iscsi/negotiation.js';
import { textGet, type TextPairs } from '../../src/storage/iscsi/pdu.js';

export interface LoginPolicy {
  targetIqn: string;
  chap?: { user: string; secret: string };
  mutualChap?: { user: string; secret: string };
  /** Whether this initiator may log in to the target at all (ACL). */
  mayLogin(initiatorIqn: string): boolean;
  /** What the target would like for each negotiated key. */
  wishes: SessionParams;
}

export class LoginRefused extends Error {
  constructor(readonly statusClass: number, readonly statusDetail: number, message: string) {
    super(message);
  }
}

export interface LoginStep {
  pairs: TextPairs;
  transit: boolean;
  csg: number;
  nsg: number;
}

/** Login state for one connection. */
export class TargetLogin {
  initiatorName = '';
  sessionType: 'Normal' | 'Discovery' = 'Normal';
  readonly params: SessionParams = defaultParams();
  private authenticated = false;
  private chapState: 'none' | 'method' | 'challenged' = 'none';
  private challenge?: { id: number; challenge: Buffer };
  private first = true;
  private declared = false;

  constructor(private readonly policy: LoginPolicy) {
    this.params.ourMaxRecv = policy.wishes.ourMaxRecv;
  }

  get needsChap(): boolean {
    return this.policy.chap !== undefined && this.sessionType === 'Normal';
  }

  /** One login request (CSG, NSG, T) with its keys → the response. Throws LoginRefused. */
  step(csg: number, nsg: number, transit: boolean, pairs: TextPairs): LoginStep {
    const out: TextPairs = [];
    if (this.first) {
      this.first = false;
      const name = textGet(pairs, 'InitiatorName');
      if (!name) throw new LoginRefused(2, 7, 'InitiatorName missing');
      this.initiatorName = name.toLowerCase();
      const type = textGet(pairs, 'SessionType') ?? 'Normal';
      if (type !== 'Normal' && type !== 'Discovery') throw new LoginRefused(2, 9, `SessionType ${type} is not supported`);
      this.sessionType = type;
      if (type === 'Normal') {
        const target = textGet(pairs, 'TargetName');
        if (!target) throw new LoginRefused(2, 7, 'TargetName missing');
        if (target.toLowerCase() !== this.policy.targetIqn.toLowerCase()) throw new LoginRefused(2, 3, `no target ${target}`);
        if (!this.policy.mayLogin(this.initiatorName)) throw new LoginRefused(2, 2, `${this.initiatorName} may not log in to ${target}`);
        out.push(['TargetPortalGroupTag', '1']);
      }
    }
    if (csg === 0) return this.security(nsg, transit, pairs, out);
    if (csg !== 1) throw new LoginRefused(2, 0, `login stage ${csg} is not valid here`);
    if (this.needsChap && !this.authenticated) throw new LoginRefused(2, 1, 'authentication required');
    let answer: TextPairs;
    try {
      answer = respond(pairs, this.policy.wishes, this.params);
    } catch (e) {
      if (e instanceof NegotiationError) throw new LoginRefused(2, 0, e.message);
      throw e;
    }
    out.push(...answer);
    if (!this.declared) {
      this.declared = true;
      out.push(['MaxRecvDataSegmentLength', String(this.params.ourMaxRecv)]);
    }
    if (transit && nsg !== 3) throw new LoginRefused(2, 0, `cannot move from stage 1 to ${nsg}`);
    return { pairs: out, transit, csg: 1, nsg: transit ? 3 : 1 };
  }

  private security(nsg: number, transit: boolean, pairs: TextPairs, out: TextPairs): LoginStep {
    const methods = textGet(pairs, 'AuthMethod');
    if (methods !== undefined && this.chapState === 'none') {
      const offered = methods.split(',');
      const pick = this.needsChap ? (offered.includes('CHAP') ? 'CHAP' : undefined)
        : offered.includes('None') ? 'None' : offered.includes('CHAP') && this.policy.chap ? 'CHAP' : undefined;
      if (!pick) throw new LoginRefused(2, 1, `no acceptable AuthMethod in ${methods}`);
      out.push(['AuthMethod', pick]);
      if (pick === 'CHAP') {
        this.chapState = 'method';
        return { pairs: out, transit: false, csg: 0, nsg: 0 };
      }
      this.authenticated = true;
    } else if (this.chapState === 'method') {
      const algs = textGet(pairs, 'CHAP_A');
      if (!algs || !algs.split(',').includes('5')) throw new LoginRefused(2, 1, 'CHAP_A must offer MD5 (5)');
      this.challenge = newChallenge();
      this.chapState = 'challenged';
      out.push(['CHAP_A', '5'], ['CHAP_I', String(this.challenge.id)], ['CHAP_C', encodeBinary(this.challenge.challenge)]);
      return { pairs: out, transit: false, csg: 0, nsg: 0 };
    } else if (this.chapState === 'challenged') {
      this.verifyChap(pairs, out);
    }
    if (this.needsChap && !this.authenticated) {
      if (transit) throw new LoginRefused(2, 1, 'authentication required');
      return { pairs: out, transit: false, csg: 0, nsg: 0 };
    }
    this.authenticated = true;
    if (transit && nsg !== 1 && nsg !== 3) throw new LoginRefused(2, 0, `cannot move from stage 0 to ${nsg}`);
    return { pairs: out, transit, csg: 0, nsg: transit ? nsg : 0 };
  }

  private verifyChap(pairs: TextPairs, out: TextPairs): void {
    const chap = this.policy.chap;
    const user = textGet(pairs, 'CHAP_N');
    const resp = textGet(pairs, 'CHAP_R');
    if (!chap || !user || !resp || !this.challenge) throw new LoginRefused(2, 1, 'CHAP_N and CHAP_R expected');
    let got: Buffer;
    try {
      got = decodeBinary(resp);
    } catch {
      throw new LoginRefused(2, 1, 'CHAP_R is not a binary value');
    }
    const want = chapResponse(this.challenge.id, chap.secret, this.challenge.challenge);
    if (user !== chap.user || !sameBytes(got, want)) throw new LoginRefused(2, 1, `CHAP authentication of ${user} failed`);
    const theirId = textGet(pairs, 'CHAP_I');
    const theirC = textGet(pairs, 'CHAP_C');
    if (theirId !== undefined || theirC !== undefined) {
      const mutual = this.policy.mutualChap;
      if (!mutual) throw new LoginRefused(2, 1, 'mutual CHAP is not configured on this target');
      if (theirId === undefined || theirC === undefined || !/^[0-9]+$/.test(theirId) || Number(theirId) > 255) {
        throw new LoginRefused(2, 1, 'mutual CHAP needs CHAP_I and CHAP_C');
      }
      let c: Buffer;
      try {
        c = decodeBinary(theirC);
      } catch {
        throw new LoginRefused(2, 1, 'CHAP_C is not a binary value');
      }
      if (sameBytes(c, this.challenge.challenge) || c.length < 16) throw new LoginRefused(2, 1, 'the initiator challenge is unacceptable');
      out.push(['CHAP_N', mutual.user], ['CHAP_R', encodeBinary(chapResponse(Number(theirId), mutual.secret, c))]);
    }
    this.authenticated = true;
  }
}
