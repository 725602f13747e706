/**
 * @module
 * Login text negotiation (RFC 7143 §6, §13), shared by Islet's initiator and target so
 * both apply the same result functions: *list* for digests, *min* for sizes and counts,
 * *OR* for InitialR2T and the in-order keys, *AND* for ImmediateData, *max* for
 * DefaultTime2Wait. MaxRecvDataSegmentLength is declarative and per direction: each side
 * states what it accepts and the other obeys it (8192 when never stated).
 */
import type { TextPairs } from './pdu.js';

export interface SessionParams {
  headerDigest: boolean;
  dataDigest: boolean;
  /** What we accept per PDU (we declared it). */
  ourMaxRecv: number;
  /** What the peer accepts per PDU (it declared it). */
  peerMaxRecv: number;
  maxBurstLength: number;
  firstBurstLength: number;
  immediateData: boolean;
  initialR2T: boolean;
  maxOutstandingR2T: number;
  maxConnections: number;
  errorRecoveryLevel: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
}

export function defaultParams(): SessionParams {
  return {
    headerDigest: false, dataDigest: false, ourMaxRecv: 8192, peerMaxRecv: 8192, maxBurstLength: 262144,
    firstBurstLength: 65536, immediateData: true, initialR2T: true, maxOutstandingR2T: 1, maxConnections: 1,
    errorRecoveryLevel: 0, defaultTime2Wait: 2, defaultTime2Retain: 20, dataPDUInOrder: true, dataSequenceInOrder: true,
  };
}

type Kind = 'digest' | 'min' | 'max' | 'or' | 'and' | 'declare';
interface KeyDef {
  kind: Kind;
  lo?: number;
  hi?: number;
  field?: keyof SessionParams;
}

export const KEYS: Record<string, KeyDef> = {
  HeaderDigest: { kind: 'digest', field: 'headerDigest' },
  DataDigest: { kind: 'digest', field: 'dataDigest' },
  MaxConnections: { kind: 'min', lo: 1, hi: 65535, field: 'maxConnections' },
  InitialR2T: { kind: 'or', field: 'initialR2T' },
  ImmediateData: { kind: 'and', field: 'immediateData' },
  MaxRecvDataSegmentLength: { kind: 'declare', lo: 512, hi: 16777215, field: 'peerMaxRecv' },
  MaxBurstLength: { kind: 'min', lo: 512, hi: 16777215, field: 'maxBurstLength' },
  FirstBurstLength: { kind: 'min', lo: 512, hi: 16777215, field: 'firstBurstLength' },
  DefaultTime2Wait: { kind: 'max', lo: 0, hi: 3600, field: 'defaultTime2Wait' },
  DefaultTime2Retain: { kind: 'min', lo: 0, hi: 3600, field: 'defaultTime2Retain' },
  MaxOutstandingR2T: { kind: 'min', lo: 1, hi: 65535, field: 'maxOutstandingR2T' },
  DataPDUInOrder: { kind: 'or', field: 'dataPDUInOrder' },
  DataSequenceInOrder: { kind: 'or', field: 'dataSequenceInOrder' },
  ErrorRecoveryLevel: { kind: 'min', lo: 0, hi: 2, field: 'errorRecoveryLevel' },
};

/** Keys that are accepted and answered with a fixed value (dropped from RFC 7143 or unused). */
const FIXED_ANSWERS: Record<string, string> = { IFMarker: 'No', OFMarker: 'No', OFMarkInt: 'Irrelevant', IFMarkInt: 'Irrelevant' };

export class NegotiationError extends Error {}

export function parseNumber(key: string, v: string, lo: number, hi: number): number {
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v.slice(2), 16) : /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < lo || n > hi) throw new NegotiationError(`${key}=${v} is out of range ${lo}–${hi}`);
  return n;
}

function parseBool(key: string, v: string): boolean {
  if (v === 'Yes') return true;
  if (v === 'No') return false;
  throw new NegotiationError(`${key}=${v} is not Yes or No`);
}

/**
 * The responder's side: answers each offered operational key using `ours` (the values
 * the responder would like) and records the outcome in `result`. Unknown keys are
 * answered NotUnderstood; login-only keys (names, session type) are left to the caller.
 */
export function respond(offer: TextPairs, ours: SessionParams, result: SessionParams, supportDigest = true): TextPairs {
  const answer: TextPairs = [];
  for (const [key, v] of offer) {
    const def = KEYS[key];
    if (!def) {
      if (key in FIXED_ANSWERS) answer.push([key, FIXED_ANSWERS[key]!]);
      else if (!LOGIN_KEYS.has(key) && !key.startsWith('X-') && !key.startsWith('X#')) answer.push([key, 'NotUnderstood']);
      continue;
    }
    const field = def.field!;
    switch (def.kind) {
      case 'digest': {
        const supported = supportDigest && (ours[field] as boolean) ? ['CRC32C', 'None'] : ['None'];
        const pick = v.split(',').find((o) => supported.includes(o));
        if (!pick) throw new NegotiationError(`${key}=${v}: no common value`);
        (result[field] as boolean) = pick === 'CRC32C';
        answer.push([key, pick]);
        break;
      }
      case 'declare':
        (result[field] as number) = parseNumber(key, v, def.lo!, def.hi!);
        break;
      case 'min': {
        const n = Math.min(parseNumber(key, v, def.lo!, def.hi!), ours[field] as number);
        (result[field] as number) = n;
        answer.push([key, String(n)]);
        break;
      }
      case 'max': {
        const n = Math.max(parseNumber(key, v, def.lo!, def.hi!), ours[field] as number);
        (result[field] as number) = n;
        answer.push([key, String(n)]);
        break;
      }
      case 'or': {
        const b = parseBool(key, v) || (ours[field] as boolean);
        (result[field] as boolean) = b;
        answer.push([key, b ? 'Yes' : 'No']);
        break;
      }
      case 'and': {
        const b = parseBool(key, v) && (ours[field] as boolean);
        (result[field] as boolean) = b;
        answer.push([key, b ? 'Yes' : 'No']);
        break;
      }
    }
  }
  if (result.firstBurstLength > result.maxBurstLength) result.firstBurstLength = result.maxBurstLength;
  return answer;
}

/**
 * The proposer's side: applies the responder's answers to what we offered. A value we
 * did not offer, or one outside the result function's bounds, is a negotiation failure.
 */
export function applyAnswers(answers: TextPairs, offered: SessionParams, result: SessionParams): void {
  for (const [key, v] of answers) {
    const def = KEYS[key];
    if (!def) continue;
    const field = def.field!;
    if (v === 'Reject' || v === 'Irrelevant' || v === 'NotUnderstood') continue;
    switch (def.kind) {
      case 'digest':
        if (v !== 'None' && v !== 'CRC32C') throw new NegotiationError(`${key}=${v} was not offered`);
        if (v === 'CRC32C' && !(offered[field] as boolean)) throw new NegotiationError(`${key}=CRC32C was not offered`);
        (result[field] as boolean) = v === 'CRC32C';
        break;
      case 'declare':
        (result[field] as number) = parseNumber(key, v, def.lo!, def.hi!);
        break;
      case 'min': {
        const n = parseNumber(key, v, def.lo!, def.hi!);
        if (n > (offered[field] as number)) throw new NegotiationError(`${key}=${v} is above the offered ${String(offered[field])}`);
        (result[field] as number) = n;
        break;
      }
      case 'max': {
        const n = parseNumber(key, v, def.lo!, def.hi!);
        (result[field] as number) = Math.max(n, offered[field] as number);
        break;
      }
      case 'or':
        (result[field] as boolean) = parseBool(key, v) || (offered[field] as boolean);
        break;
      case 'and': {
        const b = parseBool(key, v);
        if (b && !(offered[field] as boolean)) throw new NegotiationError(`${key}=Yes was not offered`);
        (result[field] as boolean) = b;
        break;
      }
    }
  }
  if (result.firstBurstLength > result.maxBurstLength) result.firstBurstLength = result.maxBurstLength;
}

/** What the initiator offers for each negotiated key, from its wishes. */
export function offerPairs(p: SessionParams, leading: boolean): TextPairs {
  const out: TextPairs = [
    ['HeaderDigest', p.headerDigest ? 'CRC32C,None' : 'None'],
    ['DataDigest', p.dataDigest ? 'CRC32C,None' : 'None'],
  ];
  if (leading) {
    out.push(
      ['MaxConnections', String(p.maxConnections)], ['InitialR2T', p.initialR2T ? 'Yes' : 'No'],
      ['ImmediateData', p.immediateData ? 'Yes' : 'No'], ['MaxBurstLength', String(p.maxBurstLength)],
      ['FirstBurstLength', String(p.firstBurstLength)], ['DefaultTime2Wait', String(p.defaultTime2Wait)],
      ['DefaultTime2Retain', String(p.defaultTime2Retain)], ['MaxOutstandingR2T', String(p.maxOutstandingR2T)],
      ['DataPDUInOrder', 'Yes'], ['DataSequenceInOrder', 'Yes'], ['ErrorRecoveryLevel', '0'],
    );
  }
  out.push(['MaxRecvDataSegmentLength', String(p.ourMaxRecv)]);
  return out;
}

export const LOGIN_KEYS = new Set([
  'InitiatorName', 'TargetName', 'SessionType', 'InitiatorAlias', 'TargetAlias', 'TargetAddress',
  'TargetPortalGroupTag', 'AuthMethod', 'CHAP_A', 'CHAP_I', 'CHAP_C', 'CHAP_N', 'CHAP_R', 'SendTargets',
]);
