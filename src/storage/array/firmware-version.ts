/**
 * @module
 * Array firmware versions as numbers. The hotfix note's item 5 (SR creation failing on
 * EqualLogic firmware newer than 5.1.1) is the classic result of comparing versions as
 * strings or of a parser tied to one output layout, so every form the arrays print —
 * `V5.1.1`, `5.2.0 (R212345)`, `6.0.5-H1`, `7.1.12`, `10.0.3`, `NetApp Release 9.8P4` —
 * becomes an integer tuple, and support is decided by numeric comparison: anything at or
 * above the oldest supported line works, and anything newer than the newest tested works
 * too, with a warning for the SR's XenAPI messages rather than a refusal.
 */

export interface FirmwareVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Hotfix level (`-H1` → 1; ONTAP's `P4` → 4); 0 when none. */
  readonly hotfix: number;
  /** Build number (`(R212345)` → 212345), informational: never compared. */
  readonly build?: number;
  /** The text it was parsed from, trimmed. */
  readonly text: string;
}

const VERSION = /(?:^|[^0-9A-Za-z.])[Vv]?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?(?:\s*-?\s*[HhPp](\d{1,4})|[A-Za-z]*)?(?:\s*\(\s*[Rr]?(\d+)\s*\))?/;

/** Parses the first version token in `text`; undefined when there is none. */
export function parseFirmwareVersion(text: string): FirmwareVersion | undefined {
  const t = text.trim();
  const m = VERSION.exec(` ${t}`);
  if (!m) return undefined;
  const num = (s: string | undefined): number => (s === undefined ? 0 : Number.parseInt(s, 10));
  return {
    major: num(m[1]),
    minor: num(m[2]),
    patch: num(m[3]),
    hotfix: num(m[4]),
    ...(m[5] !== undefined ? { build: num(m[5]) } : {}),
    text: t,
  };
}

/** Like parseFirmwareVersion, but throws a plain Error naming the text it could not read. */
export function requireFirmwareVersion(text: string): FirmwareVersion {
  const v = parseFirmwareVersion(text);
  if (!v) throw new Error(`cannot read a firmware version from ${JSON.stringify(text)}`);
  return v;
}

type VersionLike = FirmwareVersion | string;
const asVersion = (v: VersionLike): FirmwareVersion => (typeof v === 'string' ? requireFirmwareVersion(v) : v);

/** Negative, zero or positive as `a` is older than, the same as or newer than `b` (numbers, field by field). */
export function compareFirmware(a: VersionLike, b: VersionLike): number {
  const x = asVersion(a);
  const y = asVersion(b);
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch || x.hotfix - y.hotfix;
}

/** `5.2.0`, or `6.0.5-H1` when there is a hotfix level. */
export function formatFirmware(v: FirmwareVersion): string {
  return `${v.major}.${v.minor}.${v.patch}${v.hotfix ? `-H${v.hotfix}` : ''}`;
}

export type FirmwareSupport =
  | { readonly ok: true; readonly version: FirmwareVersion; readonly warning?: string }
  | { readonly ok: false; readonly version?: FirmwareVersion; readonly reason: string };

export interface FirmwarePolicy {
  /** Product name used in messages (`EqualLogic PS`, `ONTAP`). */
  readonly product: string;
  readonly oldestSupported: string;
  readonly newestTested: string;
}

/**
 * What Islet does with a reported version: refuses only versions older than the oldest
 * supported one (or text with no version at all); a version newer than the newest tested
 * one is accepted with a warning for the SR's messages.
 */
export function checkFirmware(reported: string, policy: FirmwarePolicy): FirmwareSupport {
  const version = parseFirmwareVersion(reported);
  if (!version) return { ok: false, reason: `${policy.product} reported no firmware version Islet can read (${JSON.stringify(reported.trim())})` };
  if (compareFirmware(version, policy.oldestSupported) < 0) {
    return { ok: false, version, reason: `${policy.product} firmware ${formatFirmware(version)} is older than ${policy.oldestSupported}, the oldest Islet supports` };
  }
  if (compareFirmware(version, policy.newestTested) > 0) {
    return {
      ok: true,
      version,
      warning: `${policy.product} firmware ${formatFirmware(version)} is newer than ${policy.newestTested}, the newest Islet was tested with; the SR works, report any problem`,
    };
  }
  return { ok: true, version };
}

/** EqualLogic PS firmware: 5.0 and later supported; 7.1.12 is the newest tested. */
export const EQUALLOGIC_FIRMWARE: FirmwarePolicy = { product: 'EqualLogic PS', oldestSupported: '5.0.0', newestTested: '7.1.12' };
