/**
 * @module
 * The part of a row that would change a record. A record written with values it already
 * holds still counts as changed (a database write, and an event to every client watching
 * its class), so what comes from elsewhere (the storage's facts on a scan, a replica of the
 * master's database, a restored dump) is written only where it differs.
 */
import type { Row } from './ports/pool-db.js';

/** Whether `have` already holds `want`: lists element by element, maps key by key in any order. */
export function holdsValue(have: unknown, want: unknown): boolean {
  if (have === want) return true;
  if (typeof have !== 'object' || typeof want !== 'object' || have === null || want === null) return false;
  if (Array.isArray(have) || Array.isArray(want)) {
    return Array.isArray(have) && Array.isArray(want) && have.length === want.length && have.every((v, i) => holdsValue(v, want[i]));
  }
  const w = want as Record<string, unknown>;
  const entries = Object.entries(have);
  return entries.length === Object.keys(w).length && entries.every(([k, v]) => Object.hasOwn(w, k) && holdsValue(v, w[k]));
}

/** The fields of `want` whose values `have` does not already hold. */
export function changedFields(have: Row, want: Row): Row {
  const patch: Row = {};
  for (const [k, v] of Object.entries(want)) if (!holdsValue(have[k], v)) patch[k] = v;
  return patch;
}
