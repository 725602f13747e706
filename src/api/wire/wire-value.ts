/**
 * @module
 * The tagged value tree both wire codecs render from. XML-RPC and JSON-RPC disagree on
 * how a XenAPI value looks (xapi sends an int64 as an untyped XML-RPC string but as a JSON
 * number; a datetime as `<dateTime.iso8601>` but as a JSON string), so typed encoding
 * produces this tree once and each codec renders it its own way.
 */

export type WireValue =
  | { readonly t: 'string'; readonly v: string }
  /** An int64: untyped `<value>` in XML-RPC, a number in JSON. */
  | { readonly t: 'int'; readonly v: number }
  /** An explicit `<i4>`, which xapi uses for a few counters (event.from's valid_ref_counts). */
  | { readonly t: 'i4'; readonly v: number }
  | { readonly t: 'double'; readonly v: number }
  | { readonly t: 'bool'; readonly v: boolean }
  /** A datetime in xapi's form, `20250319T04:16:24Z`. */
  | { readonly t: 'datetime'; readonly v: string }
  | { readonly t: 'array'; readonly v: readonly WireValue[] }
  | { readonly t: 'struct'; readonly v: Readonly<Record<string, WireValue>> }
  | { readonly t: 'nil' };

/** Sets `obj[key]` as an own property even when the key is `__proto__`. */
export function setOwn<V>(obj: Record<string, V>, key: string, value: V): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/** The JSON-RPC rendering of a wire value: ints and doubles as numbers, datetimes as strings. */
export function toJson(w: WireValue): unknown {
  switch (w.t) {
    case 'array': {
      const src = w.v;
      const out = new Array<unknown>(src.length);
      for (let i = 0; i < src.length; i++) out[i] = toJson(src[i]!);
      return out;
    }
    case 'struct': {
      const out: Record<string, unknown> = {};
      const src = w.v;
      for (const k in src) setOwn(out, k, toJson(src[k]!));
      return out;
    }
    case 'nil': return null;
    // JSON has no NaN or Infinity; null is what JSON.stringify would write anyway.
    case 'double': return Number.isFinite(w.v) ? w.v : null;
    default: return w.v;
  }
}

/**
 * A wire value handed through an `any`-typed encoding untouched. event.from's result is
 * `any` but nests typed record snapshots and `<i4>` counts; the caller encodes those parts
 * itself and wraps them with {@link preEncoded}.
 */
export class PreEncoded {
  constructor(readonly wire: WireValue) {}
}

export function preEncoded(wire: WireValue): PreEncoded {
  return new PreEncoded(wire);
}
