/**
 * @module
 * XML-RPC as xapi speaks it. Requests are parsed by a strict, bounded parser into plain
 * values (an untyped `<value>` stays a string: xapi-style clients send ints that way, and
 * argument decoding coerces by declared type). Responses are written byte for byte in
 * ocaml-rpc's layout: the `{Status, Value}` / `{Status, ErrorDescription}` struct, no
 * whitespace, int64 as untyped strings, doubles as C's `%.16g`.
 */
import { type OpenTag, XmlReader, isBlank } from './xml-reader.js';
import { type WireValue, setOwn } from './wire-value.js';
import { normalizeXapiDate } from './xapi-date.js';
import { escapeXml, formatInt, toXmlValue } from './xml-writer.js';

export { XmlRpcParseError } from './xml-reader.js';
export { escapeXml, formatDouble, toXmlValue } from './xml-writer.js';

/** Nesting of arrays and structs a request may use; XenAPI values need a handful. */
export const MAX_XML_DEPTH = 64;

const INT64_LIMIT = 2 ** 63;
const INT_RE = /^[+-]?[0-9]{1,20}$/;
// Unambiguous alternatives, so a long non-matching digit run fails in linear time.
const DOUBLE_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function expectTag(r: XmlReader, local: string): OpenTag {
  r.skipMisc();
  const tag = r.openTag();
  if (tag.local !== local) r.fail(`expected <${local}>, found <${tag.raw}>`);
  return tag;
}

function parseScalarText(r: XmlReader, kind: string, text: string): unknown {
  const t = text.trim();
  switch (kind) {
    case 'int': case 'i4': case 'i8': {
      if (!INT_RE.test(t)) return r.fail(`bad <${kind}> ${JSON.stringify(t.slice(0, 40))}`);
      const n = Number(t);
      if (n >= INT64_LIMIT || n < -INT64_LIMIT) return r.fail(`<${kind}> out of range`);
      return n;
    }
    case 'boolean':
      if (t === '1' || t === 'true') return true;
      if (t === '0' || t === 'false') return false;
      return r.fail(`bad <boolean> ${JSON.stringify(t.slice(0, 40))}`);
    case 'double':
      if (DOUBLE_RE.test(t)) return Number(t);
      if (t === 'nan' || t === '-nan' || t === 'NaN') return NaN;
      if (t === 'inf' || t === 'Infinity' || t === '+inf') return Infinity;
      if (t === '-inf' || t === '-Infinity') return -Infinity;
      return r.fail(`bad <double> ${JSON.stringify(t.slice(0, 40))}`);
    case 'dateTime.iso8601':
      // An unrecognised date stays as sent; argument decoding reports it against the field.
      return normalizeXapiDate(t) ?? t;
    case 'base64': {
      const b = t.replace(/\s+/g, '');
      if (b.length % 4 !== 0 || !BASE64_RE.test(b)) return r.fail('bad <base64>');
      return Buffer.from(b, 'base64').toString('utf8');
    }
    default:
      return text; // string
  }
}

function parseTyped(r: XmlReader, tag: OpenTag, depth: number): unknown {
  switch (tag.local) {
    case 'string': case 'int': case 'i4': case 'i8': case 'boolean': case 'double':
    case 'dateTime.iso8601': case 'base64': {
      if (tag.selfClosing) {
        if (tag.local === 'string' || tag.local === 'base64') return '';
        return r.fail(`empty <${tag.raw}>`);
      }
      const text = r.readText();
      r.closeTag(tag);
      return parseScalarText(r, tag.local, text);
    }
    case 'nil':
      if (!tag.selfClosing) r.closeTag(tag);
      return null;
    case 'array': {
      const out: unknown[] = [];
      if (tag.selfClosing) return out;
      r.skipMisc();
      if (r.atCloseTag()) { r.closeTag(tag); return out; }
      const data = expectTag(r, 'data');
      if (!data.selfClosing) {
        for (;;) {
          r.skipMisc();
          if (r.atCloseTag()) break;
          out.push(parseValue(r, depth + 1));
        }
        r.closeTag(data);
      }
      r.closeTag(tag);
      return out;
    }
    case 'struct': {
      const out: Record<string, unknown> = {};
      if (tag.selfClosing) return out;
      for (;;) {
        r.skipMisc();
        if (r.atCloseTag()) break;
        const member = expectTag(r, 'member');
        if (member.selfClosing) r.fail('empty <member>');
        const nameTag = expectTag(r, 'name');
        let name = '';
        if (!nameTag.selfClosing) { name = r.readText(); r.closeTag(nameTag); }
        setOwn(out, name, parseValue(r, depth + 1));
        r.closeTag(member);
      }
      r.closeTag(tag);
      return out;
    }
    default:
      return r.fail(`unknown value type <${tag.raw}>`);
  }
}

/** Parses one `<value>` element, following ocaml-rpc's rules for untyped content. */
function parseValue(r: XmlReader, depth: number): unknown {
  if (depth > MAX_XML_DEPTH) r.fail(`values nested deeper than ${MAX_XML_DEPTH}`);
  const tag = expectTag(r, 'value');
  if (tag.selfClosing) return '';
  const text = r.readText();
  if (r.atCloseTag()) { r.closeTag(tag); return text; }
  if (!isBlank(text)) r.fail('character data before a typed value');
  const v = parseTyped(r, r.openTag(), depth);
  r.closeTag(tag);
  return v;
}

function parseParams(r: XmlReader, tag: OpenTag): unknown[] {
  const params: unknown[] = [];
  if (tag.selfClosing) return params;
  for (;;) {
    r.skipMisc();
    if (r.atCloseTag()) break;
    const param = expectTag(r, 'param');
    if (param.selfClosing) r.fail('empty <param>');
    params.push(parseValue(r, 1));
    r.closeTag(param);
  }
  r.closeTag(tag);
  return params;
}

function finish(r: XmlReader): void {
  r.skipMisc();
  if (!r.atEnd()) r.fail('content after the document element');
}

/**
 * Parses an XML-RPC `<methodCall>`.
 * @throws XmlRpcParseError when the body is not a well-formed call.
 */
export function parseXmlRpcCall(body: string): { method: string; params: unknown[] } {
  const r = new XmlReader(body);
  r.prolog();
  const call = expectTag(r, 'methodCall');
  if (call.selfClosing) r.fail('empty <methodCall>');
  const nameTag = expectTag(r, 'methodName');
  let method = '';
  if (!nameTag.selfClosing) { method = r.readText().trim(); r.closeTag(nameTag); }
  r.skipMisc();
  let params: unknown[] = [];
  if (!r.atCloseTag()) params = parseParams(r, expectTag(r, 'params'));
  r.closeTag(call);
  finish(r);
  return { method, params };
}

/** Parses a lone `<value>…</value>` fragment, such as a task's `result`. */
export function parseXmlRpcValue(fragment: string): unknown {
  const r = new XmlReader(fragment);
  r.prolog();
  const v = parseValue(r, 1);
  finish(r);
  return v;
}

export type XmlRpcResponse =
  | { readonly kind: 'success'; readonly value: unknown }
  | { readonly kind: 'failure'; readonly errorDescription: unknown }
  | { readonly kind: 'fault'; readonly code: unknown; readonly message: unknown };

/**
 * Parses a `<methodResponse>` as a client would (the CLI, host-to-host calls, tests),
 * unwrapping xapi's `{Status, Value | ErrorDescription}`. A response without that
 * wrapper (system.listMethods) is a success carrying the bare value.
 */
export function parseXmlRpcResponse(body: string): XmlRpcResponse {
  const r = new XmlReader(body);
  r.prolog();
  const resp = expectTag(r, 'methodResponse');
  if (resp.selfClosing) r.fail('empty <methodResponse>');
  r.skipMisc();
  const inner = r.openTag();
  let result: XmlRpcResponse;
  if (inner.local === 'fault' && !inner.selfClosing) {
    const f = parseValue(r, 1) as Record<string, unknown>;
    r.closeTag(inner);
    result = { kind: 'fault', code: f?.faultCode, message: f?.faultString };
  } else if (inner.local === 'params' && !inner.selfClosing) {
    const params = parseParams(r, inner);
    if (params.length !== 1) r.fail('a response carries exactly one <param>');
    const v = params[0] as Record<string, unknown> | null;
    if (v && typeof v === 'object' && v.Status === 'Success' && 'Value' in v) {
      result = { kind: 'success', value: v.Value };
    } else if (v && typeof v === 'object' && v.Status === 'Failure' && 'ErrorDescription' in v) {
      result = { kind: 'failure', errorDescription: v.ErrorDescription };
    } else {
      result = { kind: 'success', value: v };
    }
  } else {
    return r.fail(`expected <params> or <fault>, found <${inner.raw}>`);
  }
  r.closeTag(resp);
  finish(r);
  return result;
}

const HEAD = '<?xml version="1.0"?><methodResponse><params><param>';
const TAIL = '</param></params></methodResponse>';

/** A successful xapi response: `{Status: "Success", Value}`. */
export function xmlRpcSuccess(value: WireValue): string {
  return `${HEAD}<value><struct><member><name>Status</name><value>Success</value></member>`
    + `<member><name>Value</name>${toXmlValue(value)}</member></struct></value>${TAIL}`;
}

/** A failed xapi call: `{Status: "Failure", ErrorDescription: [CODE, params…]}`. */
export function xmlRpcFailure(errorDescription: readonly string[]): string {
  let list = '';
  for (const s of errorDescription) list += `<value>${escapeXml(s)}</value>`;
  return `${HEAD}<value><struct><member><name>Status</name><value>Failure</value></member>`
    + `<member><name>ErrorDescription</name><value><array><data>${list}</data></array></value></member>`
    + `</struct></value>${TAIL}`;
}

/**
 * A response carrying the bare value, unwrapped; xapi answers system.listMethods this way
 * over XML-RPC.
 */
export function xmlRpcBare(value: WireValue): string {
  return `${HEAD}${toXmlValue(value)}${TAIL}`;
}

/** A standard XML-RPC fault, for a request that cannot even be parsed. */
export function xmlRpcFault(code: number, message: string): string {
  return '<?xml version="1.0"?><methodResponse><fault><value><struct>'
    + `<member><name>faultCode</name><value><int>${formatInt(code)}</int></value></member>`
    + `<member><name>faultString</name><value>${escapeXml(message)}</value></member>`
    + '</struct></value></fault></methodResponse>';
}
