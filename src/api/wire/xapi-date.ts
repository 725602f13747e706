/**
 * @module
 * Datetimes on the wire. Internally (and in xapi's database) a datetime is the compact
 * UTC form `20250319T04:16:24Z`; clients send that, XML-RPC's `20250319T04:16:24` (no zone,
 * read as UTC like xapi does), or ISO 8601 with dashes, fractions and offsets. Everything
 * is normalised to the compact UTC form, dropping sub-second precision as xapi does.
 */

// Anchored, with bounded quantifiers only, so matching is linear in the (capped) length.
const DATE_RE =
  /^(\d{4})(-?)(\d{2})\2(\d{2})[Tt](\d{2})(:?)(\d{2})\6(\d{2})(?:\.\d{1,9})?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Formats epoch milliseconds as `YYYYMMDDTHH:MM:SSZ`. */
export function formatXapiDate(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}T`
    + `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}Z`;
}

/** The xapi form of a JS Date. */
export function dateToXapi(d: Date): string {
  return formatXapiDate(d.getTime());
}

/** Epoch milliseconds of a datetime in any accepted form, or undefined when it is not one. */
export function parseXapiDateMs(s: string): number | undefined {
  if (s.length > 40) return undefined;
  const m = DATE_RE.exec(s);
  if (!m) return undefined;
  const year = +m[1]!, month = +m[3]!, day = +m[4]!;
  const hour = +m[5]!, minute = +m[7]!, second = +m[8]!;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 19xx.
  d.setUTCFullYear(year, month - 1, day);
  if (d.getUTCDate() !== day) return undefined; // 30 February and the like
  d.setUTCHours(hour, minute, second, 0);
  let ms = d.getTime();
  const zone = m[9];
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = +digits.slice(0, 2), om = digits.length > 2 ? +digits.slice(2) : 0;
    if (oh > 23 || om > 59) return undefined;
    ms -= sign * (oh * 60 + om) * 60_000;
  }
  return ms;
}

/** The xapi form of a datetime string, or undefined when the string is not a datetime. */
export function normalizeXapiDate(s: string): string | undefined {
  // The common case, already in xapi's form, keeps its string.
  if (s.length === 18 && s.charCodeAt(17) === 90 /* Z */ && s.charCodeAt(8) === 84 /* T */) {
    const ms = parseXapiDateMs(s);
    return ms === undefined ? undefined : s;
  }
  const ms = parseXapiDateMs(s);
  return ms === undefined ? undefined : formatXapiDate(ms);
}
