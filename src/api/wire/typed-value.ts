/**
 * @module
 * Moving values between their internal form and the wire by declared XenAPI type.
 * Encoding turns an internal value into a {@link WireValue} tree that either codec renders;
 * decoding coerces a parsed argument to the internal form with the leniency xapi's
 * unmarshallers have (ints and floats as strings, enums in any case, several datetime
 * spellings), failing with `FIELD_TYPE_ERROR [where]` otherwise.
 */
import type { FieldDecl, Ty } from '../../datamodel/dsl.js';
import { ApiError } from '../../core/api-error.js';
import { PreEncoded, type WireValue, setOwn } from './wire-value.js';
import { dateToXapi, normalizeXapiDate } from './xapi-date.js';

export { type WireValue, PreEncoded, preEncoded, toJson } from './wire-value.js';
export { toXmlValue } from './xml-writer.js';

/** The declared fields of a class, or undefined for an unknown class. */
export type FieldResolver = (cls: string) => readonly FieldDecl[] | undefined;

const INT64_LIMIT = 2 ** 63;
const INT_RE = /^[+-]?[0-9]{1,20}$/;
const FLOAT_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?$/;

// Filtering internal fields once per class keeps record encoding to one pass over fields.
// The helpers below are shared with the direct JSON encoder (json-encode.ts).
const visibleCache = new WeakMap<readonly FieldDecl[], readonly FieldDecl[]>();

export function visibleFields(resolve: FieldResolver | undefined, cls: string): readonly FieldDecl[] {
  const all = resolve?.(cls);
  if (!all) throw new Error(`no field declarations for record class ${cls}`);
  let vis = visibleCache.get(all);
  if (!vis) {
    vis = all.some((f) => f.internal) ? all.filter((f) => !f.internal) : all;
    visibleCache.set(all, vis);
  }
  return vis;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function encodeError(value: unknown, ty: Ty): never {
  throw new Error(`cannot encode ${typeof value} ${String(value).slice(0, 40)} as ${ty.kind}`);
}

/**
 * A result's number. A float may come as null: the JSON a host answers another host with
 * (a call run where the data is) has no NaN or Infinity and carries them as null, which
 * reads back as NaN, the float JSON writes as null again.
 */
export function toNumber(value: unknown, ty: Ty): number {
  if (typeof value === 'number') return value;
  if (value === null && ty.kind === 'float') return NaN;
  const n = typeof value === 'bigint' || typeof value === 'string' ? Number(value) : NaN;
  return Number.isNaN(n) ? encodeError(value, ty) : n;
}

function encodeAny(value: unknown): WireValue {
  switch (typeof value) {
    case 'string': return { t: 'string', v: value };
    case 'number': return Number.isInteger(value) ? { t: 'int', v: value } : { t: 'double', v: value };
    case 'boolean': return { t: 'bool', v: value };
    case 'bigint': return { t: 'int', v: Number(value) };
    case 'undefined': return { t: 'string', v: '' };
    default: break;
  }
  if (value === null) return { t: 'string', v: '' };
  if (value instanceof PreEncoded) return value.wire;
  if (value instanceof Date) return { t: 'datetime', v: dateToXapi(value) };
  if (Array.isArray(value)) return { t: 'array', v: value.map(encodeAny) };
  const out: Record<string, WireValue> = {};
  for (const k in value as Record<string, unknown>) {
    if (Object.hasOwn(value as object, k)) setOwn(out, k, encodeAny((value as Record<string, unknown>)[k]));
  }
  return { t: 'struct', v: out };
}

/**
 * Encodes an internal value of declared type `ty`. Record fields marked `internal` are left
 * out; a field missing from the value is sent with its declared default.
 */
export function encodeTyped(value: unknown, ty: Ty, resolveFields?: FieldResolver): WireValue {
  switch (ty.kind) {
    case 'string': case 'enum': case 'ref':
      return { t: 'string', v: typeof value === 'string' ? value : value == null ? '' : String(value) };
    case 'int': {
      const n = toNumber(value, ty);
      return Number.isFinite(n) ? { t: 'int', v: n } : encodeError(value, ty);
    }
    case 'float': return { t: 'double', v: toNumber(value, ty) };
    case 'bool': return { t: 'bool', v: value === true || value === 'true' };
    case 'datetime':
      if (typeof value === 'string') return { t: 'datetime', v: value };
      if (value instanceof Date) return { t: 'datetime', v: dateToXapi(value) };
      return encodeError(value, ty);
    case 'void': return { t: 'string', v: '' };
    case 'any': return encodeAny(value);
    case 'set': {
      const src = value instanceof Set ? [...value] : value;
      if (!Array.isArray(src)) return encodeError(value, ty);
      const out = new Array<WireValue>(src.length);
      for (let i = 0; i < src.length; i++) out[i] = encodeTyped(src[i], ty.of, resolveFields);
      return { t: 'array', v: out };
    }
    case 'map': {
      const out: Record<string, WireValue> = {};
      if (value instanceof Map) {
        for (const [k, v] of value) setOwn(out, String(k), encodeTyped(v, ty.value, resolveFields));
      } else if (isPlainObject(value)) {
        for (const k in value) {
          if (Object.hasOwn(value, k)) setOwn(out, k, encodeTyped(value[k], ty.value, resolveFields));
        }
      } else {
        return encodeError(value, ty);
      }
      return { t: 'struct', v: out };
    }
    case 'record': {
      if (!isPlainObject(value)) return encodeError(value, ty);
      const fields = visibleFields(resolveFields, ty.cls);
      const out: Record<string, WireValue> = {};
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        const v = value[f.name];
        out[f.name] = encodeTyped(v === undefined ? f.default : v, f.ty, resolveFields);
      }
      return { t: 'struct', v: out };
    }
  }
}

function typeError(where: string): never {
  throw new ApiError('FIELD_TYPE_ERROR', [where]);
}

function decodeInt(value: unknown, where: string): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && INT_RE.test(value)) n = Number(value);
  else return typeError(where);
  if (!Number.isInteger(n) || n >= INT64_LIMIT || n < -INT64_LIMIT) return typeError(where);
  return n === 0 ? 0 : n; // no -0 from "-0"
}

function decodeEnum(value: unknown, values: readonly string[], where: string): string {
  if (typeof value !== 'string') return typeError(where);
  if (values.includes(value)) return value;
  // xapi's generated unmarshallers compare enum names case-insensitively.
  const lower = value.toLowerCase();
  for (const v of values) if (v.toLowerCase() === lower) return v;
  return typeError(where);
}

function decodeKey(key: string, ty: Ty, where: string): string {
  switch (ty.kind) {
    case 'int': return String(decodeInt(key, where));
    case 'float': return String(decodeArg(key, ty, where));
    case 'enum': return decodeEnum(key, ty.values, where);
    case 'bool': return String(decodeArg(key, ty, where));
    case 'datetime': return decodeArg(key, ty, where) as string;
    default: return key;
  }
}

/**
 * Coerces a parsed wire argument to the internal form of type `ty`.
 * Records take the fields they declare (internal ones excluded): unknown members are
 * ignored, a missing `required` one is a FIELD_TYPE_ERROR naming it (as xapi), and other
 * missing ones stay absent, for the caller to default.
 * @param where names the argument in the FIELD_TYPE_ERROR raised on a mismatch; a bad
 *   record member is reported by its field name.
 * @throws ApiError FIELD_TYPE_ERROR
 */
export function decodeArg(value: unknown, ty: Ty, where: string, resolveFields?: FieldResolver): unknown {
  switch (ty.kind) {
    case 'string': case 'ref':
      return typeof value === 'string' ? value : typeError(where);
    case 'int': return decodeInt(value, where);
    case 'float':
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && FLOAT_RE.test(value)) return Number(value);
      return typeError(where);
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string') {
        const l = value.toLowerCase();
        if (l === 'true') return true;
        if (l === 'false') return false;
      }
      return typeError(where);
    case 'datetime':
      return (typeof value === 'string' ? normalizeXapiDate(value) : undefined) ?? typeError(where);
    case 'enum': return decodeEnum(value, ty.values, where);
    case 'void': return '';
    case 'any': return value;
    case 'set': {
      if (!Array.isArray(value)) return typeError(where);
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) out[i] = decodeArg(value[i], ty.of, where, resolveFields);
      return out;
    }
    case 'map': {
      if (!isPlainObject(value)) return typeError(where);
      const out: Record<string, unknown> = {};
      for (const k in value) {
        if (!Object.hasOwn(value, k)) continue;
        setOwn(out, decodeKey(k, ty.key, where), decodeArg(value[k], ty.value, where, resolveFields));
      }
      return out;
    }
    case 'record': {
      if (!isPlainObject(value)) return typeError(where);
      const out: Record<string, unknown> = {};
      for (const f of visibleFields(resolveFields, ty.cls)) {
        if (Object.hasOwn(value, f.name)) out[f.name] = decodeArg(value[f.name], f.ty, f.name, resolveFields);
        else if (f.required) typeError(f.name);
      }
      return out;
    }
  }
}
