/**
 * @module
 * Writing XML-RPC `<value>` fragments exactly as ocaml-rpc does: no whitespace, strings and
 * int64 as untyped `<value>` text, `<boolean>1|0`, doubles in C's `%.16g`, structs with
 * members in insertion order. String building is plain concatenation, which V8 turns
 * into ropes, so a large record costs one pass over its fields.
 */
import type { WireValue } from './wire-value.js';

const NEEDS_ESCAPE = /[&<>"\r\x00-\x08\x0b\x0c\x0e-\x1f]/;
const ESCAPE_ALL = /[&<>"\r\x00-\x08\x0b\x0c\x0e-\x1f]/g;

function escapeChar(c: string): string {
  switch (c) {
    case '&': return '&amp;';
    case '<': return '&lt;';
    case '>': return '&gt;';
    case '"': return '&quot;';
    // ocaml-rpc sends CR raw, which the client's XML parser then turns into LF; a
    // reference keeps the value intact.
    case '\r': return '&#13;';
    // Not representable in XML 1.0; ocaml-rpc drops them too.
    default: return '';
  }
}

/** Escapes character data as ocaml-rpc does (`&<>"`; invalid control characters dropped). */
export function escapeXml(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPE_ALL, escapeChar) : s;
}

/** C's `printf("%.16g")`, the format ocaml-rpc writes doubles with. */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const e = x.toExponential(15); // 16 significant digits, rounded once
  const ePos = e.indexOf('e');
  const exp = Number(e.slice(ePos + 1));
  const neg = x < 0;
  const digits = e.slice(neg ? 1 : 0, ePos).replace('.', '');
  let out: string;
  if (exp < -4 || exp >= 16) {
    const frac = digits.slice(1).replace(/0+$/, '');
    const abs = exp < 0 ? -exp : exp;
    out = `${digits[0]}${frac ? `.${frac}` : ''}e${exp < 0 ? '-' : '+'}${abs < 10 ? `0${abs}` : abs}`;
  } else if (exp >= 0) {
    const frac = digits.slice(exp + 1).replace(/0+$/, '');
    out = digits.slice(0, exp + 1) + (frac ? `.${frac}` : '');
  } else {
    out = `0.${'0'.repeat(-exp - 1)}${digits.replace(/0+$/, '')}`;
  }
  return neg ? `-${out}` : out;
}

export function formatInt(n: number): string {
  // String() switches to exponent notation at 1e21; int64 never gets there, but a
  // caller's bad number must not produce an unparsable value.
  return Math.abs(n) < 1e21 ? String(Math.trunc(n)) : BigInt(Math.trunc(n)).toString();
}

/** The `<value>…</value>` fragment of a wire value (also a task's `result`). */
export function toXmlValue(w: WireValue): string {
  switch (w.t) {
    case 'string': return `<value>${escapeXml(w.v)}</value>`;
    case 'int': return `<value>${formatInt(w.v)}</value>`;
    case 'i4': return `<value><i4>${formatInt(w.v)}</i4></value>`;
    case 'double': return `<value><double>${formatDouble(w.v)}</double></value>`;
    case 'bool': return w.v ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>';
    case 'datetime': return `<value><dateTime.iso8601>${escapeXml(w.v)}</dateTime.iso8601></value>`;
    case 'nil': return '<value><nil/></value>';
    case 'array': {
      let out = '<value><array><data>';
      const a = w.v;
      for (let i = 0; i < a.length; i++) out += toXmlValue(a[i]!);
      return `${out}</data></array></value>`;
    }
    case 'struct': {
      let out = '<value><struct>';
      const o = w.v;
      for (const k in o) out += `<member><name>${escapeXml(k)}</name>${toXmlValue(o[k]!)}</member>`;
      return `${out}</struct></value>`;
    }
  }
}
