/**
 * @module
 * How xe writes a field's value, from its datamodel type: booleans `true`/`false`,
 * floats with three decimals, dates as `20250319T04:16:24Z`, references as the uuid of
 * the object, sets joined with `; ` (a few legacy fields use `, `) and maps as
 * `k: v; k2: v2`. Values may come typed (JSON-RPC) or as strings (XML-RPC); both render
 * the same.
 */
import type { Ty } from '../datamodel/dsl.js';
import type { RefResolver } from './ref-resolver.js';

/** `2025-03-19T04:16:24Z` or `20250319T04:16:24Z` (either offset form) as xe prints it. */
export function renderDate(v: unknown): string {
  const s = String(v ?? '');
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) return s;
  const tz = m[7] === undefined || m[7] === '+00:00' || m[7] === '+0000' ? 'Z' : m[7];
  return `${m[1]}${m[2]}${m[3]}T${m[4]}:${m[5]}:${m[6]}${tz}`;
}

function renderScalar(ty: Ty, v: unknown, res: RefResolver): string {
  switch (ty.kind) {
    case 'bool':
      return v === true || v === 'true' || v === '1' || v === 1 ? 'true' : 'false';
    case 'int':
      return typeof v === 'number' ? String(Math.trunc(v)) : String(v ?? '0');
    case 'float': {
      const n = typeof v === 'number' ? v : Number(v);
      return Number.isFinite(n) ? n.toFixed(3) : String(v);
    }
    case 'datetime':
      return renderDate(v);
    case 'ref':
      return res.uuid(ty.cls, v);
    case 'string':
    case 'enum':
      return v === undefined || v === null ? '' : String(v);
    default:
      return typeof v === 'string' ? v : JSON.stringify(v) ?? '';
  }
}

/** The members of a set (or the values of an op map) as strings. */
export function setItems(ty: Ty, v: unknown, res: RefResolver): string[] {
  const of = ty.kind === 'set' ? ty.of : ty.kind === 'map' ? ty.value : ty;
  const items = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : [];
  return items.map((x) => renderScalar(of, x, res));
}

/** The pairs of a map, values rendered (a reference value becomes a uuid). */
export function mapPairs(ty: Ty, v: unknown, res: RefResolver): Array<[string, string]> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return [];
  const valTy = ty.kind === 'map' ? ty.value : ({ kind: 'string' } as Ty);
  return Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, renderScalar(valTy, x, res)]);
}

export function joinMap(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${k}: ${v}`).join('; ');
}

/** A whole value as one string; `sep` joins set members. */
export function renderValue(ty: Ty, v: unknown, res: RefResolver, sep = '; '): string {
  if (ty.kind === 'set') return setItems(ty, v, res).join(sep);
  if (ty.kind === 'map') return joinMap(mapPairs(ty, v, res));
  return renderScalar(ty, v, res);
}

/** The classes a value of this type can refer to, so the resolver can fetch them first. */
export function refClasses(ty: Ty): string[] {
  switch (ty.kind) {
    case 'ref': return [ty.cls];
    case 'set': return refClasses(ty.of);
    case 'map': return [...refClasses(ty.key), ...refClasses(ty.value)];
    default: return [];
  }
}

/** Whether a value holds at least one non-null reference (else nothing needs fetching). */
export function hasRefs(ty: Ty, v: unknown): boolean {
  switch (ty.kind) {
    case 'ref': return typeof v === 'string' && v !== '' && v !== 'OpaqueRef:NULL';
    case 'set': return Array.isArray(v) && v.some((x) => hasRefs(ty.of, x));
    case 'map': return !!v && typeof v === 'object' && Object.values(v).some((x) => hasRefs(ty.value, x));
    default: return false;
  }
}
