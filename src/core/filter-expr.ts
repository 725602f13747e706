/**
 * @module
 * xapi's record filter language, as `get_all_records_where` and `xe` send it:
 * `field "name__label"="x" and not (field "uuid"="y" or true)`. Namespaced fields are
 * written with `__` in filters and `_` on the wire, so both spellings are accepted. An
 * expression comes from a client: its length and nesting are bounded (INVALID_VALUE
 * beyond), so a hostile one cannot exhaust the stack.
 */
import { ApiError } from './api-error.js';

export type FilterExpr =
  | { op: 'true' }
  | { op: 'false' }
  | { op: 'not'; e: FilterExpr }
  | { op: 'and' | 'or'; a: FilterExpr; b: FilterExpr }
  | { op: 'eq'; a: Operand; b: Operand };
type Operand = { field: string } | { literal: string };

type Token = { kind: 'word' | 'str' | 'sym'; v: string };

/** Longest expression accepted, in characters. */
const MAX_LENGTH = 64 * 1024;
/** Deepest nesting, counting each `and`/`or` of a chain as a level (evaluation recurses). */
const MAX_DEPTH = 1000;

function tokenize(src: string): Token[] {
  if (src.length > MAX_LENGTH) throw new ApiError('INVALID_VALUE', ['expr', `longer than ${MAX_LENGTH} characters`]);
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(' || c === ')' || c === '=') { out.push({ kind: 'sym', v: c }); i++; continue; }
    if (c === '"') {
      let s = '';
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        s += src[i++];
      }
      if (i >= src.length) throw bad(src);
      i++;
      out.push({ kind: 'str', v: s });
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (!m) throw bad(src);
    out.push({ kind: 'word', v: m[0] });
    i += m[0].length;
  }
  return out;
}

function bad(src: string): ApiError {
  return new ApiError('INVALID_VALUE', ['expr', src.length > 200 ? `${src.slice(0, 200)}…` : src]);
}

export function parseFilter(src: string): FilterExpr {
  const toks = tokenize(src);
  let pos = 0;
  let depth = 0;
  const deeper = () => {
    if (++depth > MAX_DEPTH) throw new ApiError('INVALID_VALUE', ['expr', `nested deeper than ${MAX_DEPTH}`]);
  };
  const peek = () => toks[pos];
  const take = () => {
    const tk = toks[pos++];
    if (!tk) throw bad(src);
    return tk;
  };
  const operand = (): Operand => {
    const tk = take();
    if (tk.kind === 'word' && tk.v === 'field') {
      const name = take();
      if (name.kind !== 'str') throw bad(src);
      return { field: name.v };
    }
    if (tk.kind === 'str') return { literal: tk.v };
    throw bad(src);
  };
  const primary = (): FilterExpr => {
    const tk = peek();
    if (!tk) throw bad(src);
    if (tk.kind === 'word' && tk.v === 'true') { pos++; return { op: 'true' }; }
    if (tk.kind === 'word' && tk.v === 'false') { pos++; return { op: 'false' }; }
    if (tk.kind === 'word' && tk.v === 'not') {
      pos++;
      deeper();
      const e: FilterExpr = { op: 'not', e: primary() };
      depth--;
      return e;
    }
    if (tk.kind === 'sym' && tk.v === '(') {
      pos++;
      deeper();
      const e = orExpr();
      depth--;
      const close = take();
      if (close.v !== ')') throw bad(src);
      return e;
    }
    const a = operand();
    const eq = take();
    if (eq.v !== '=') throw bad(src);
    return { op: 'eq', a, b: operand() };
  };
  const andExpr = (): FilterExpr => {
    let e = primary();
    while (peek()?.kind === 'word' && peek()!.v === 'and') { pos++; deeper(); e = { op: 'and', a: e, b: primary() }; }
    return e;
  };
  const orExpr = (): FilterExpr => {
    let e = andExpr();
    while (peek()?.kind === 'word' && peek()!.v === 'or') { pos++; deeper(); e = { op: 'or', a: e, b: andExpr() }; }
    return e;
  };
  const e = orExpr();
  if (pos !== toks.length) throw bad(src);
  return e;
}

/** String form of a field value as xapi's filter compares it. */
function fieldText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function evalFilter(e: FilterExpr, row: Record<string, unknown> | ((name: string) => unknown)): boolean {
  const read = typeof row === 'function' ? row : (name: string) => row[name];
  const val = (o: Operand) => ('literal' in o ? o.literal : fieldText(read(o.field.replace(/__/g, '_'))));
  switch (e.op) {
    case 'true': return true;
    case 'false': return false;
    case 'not': return !evalFilter(e.e, read);
    case 'and': return evalFilter(e.a, read) && evalFilter(e.b, read);
    case 'or': return evalFilter(e.a, read) || evalFilter(e.b, read);
    case 'eq': return val(e.a) === val(e.b);
  }
}
