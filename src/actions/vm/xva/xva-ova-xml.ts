/**
 * @module
 * `ova.xml`, the XVA's first member: one XML-RPC value, a struct holding `version` (who
 * wrote it and the export format's number) and `objects`, the exported records, each a
 * struct of `class`, `id` (an export-local reference such as `Ref:3`) and `snapshot` (the
 * record's fields). The writer spells values as xapi does (integers as strings, booleans as
 * 0/1); the reader accepts every XML-RPC scalar so that archives from other writers load.
 */
import { ApiError } from '../../../core/api-error.js';

export type XmlValue = string | number | boolean | XmlValue[] | { [k: string]: XmlValue };

export interface OvaObject {
  readonly cls: string;
  readonly id: string;
  readonly snapshot: Record<string, XmlValue>;
}

export interface OvaDoc {
  readonly version: Record<string, XmlValue>;
  readonly objects: OvaObject[];
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function valueXml(v: unknown, out: string[]): void {
  if (typeof v === 'boolean') out.push(`<value><boolean>${v ? 1 : 0}</boolean></value>`);
  else if (typeof v === 'number') out.push(`<value>${Number.isInteger(v) ? String(v) : `<double>${v}</double>`}</value>`);
  else if (Array.isArray(v)) {
    out.push('<value><array><data>');
    for (const x of v) valueXml(x, out);
    out.push('</data></array></value>');
  } else if (v && typeof v === 'object') {
    out.push('<value><struct>');
    for (const [k, x] of Object.entries(v)) {
      out.push(`<member><name>${escape(k)}</name>`);
      valueXml(x, out);
      out.push('</member>');
    }
    out.push('</struct></value>');
  } else out.push(`<value>${escape(v === undefined || v === null ? '' : String(v))}</value>`);
}

export function writeOvaXml(doc: OvaDoc): string {
  const out: string[] = [];
  valueXml({
    version: doc.version,
    objects: doc.objects.map((o) => ({ class: o.cls, id: o.id, snapshot: o.snapshot })),
  }, out);
  return out.join('');
}

const bad = (why: string) => new ApiError('IMPORT_ERROR', [`ova.xml: ${why}`]);

function unescape(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e]!;
  });
}

/** A small recursive parser of XML-RPC values; tags are matched strictly. */
class Parser {
  pos = 0;
  constructor(private readonly s: string) {}

  private skipWs(): void {
    for (;;) {
      while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
      if (this.s.startsWith('<?', this.pos)) this.pos = this.s.indexOf('?>', this.pos) + 2;
      else if (this.s.startsWith('<!--', this.pos)) this.pos = this.s.indexOf('-->', this.pos) + 3;
      else return;
      if (this.pos < 2) throw bad('unterminated declaration');
    }
  }

  private tag(): { name: string; close: boolean; empty: boolean } {
    this.skipWs();
    if (this.s[this.pos] !== '<') throw bad(`a tag expected at ${this.pos}`);
    const end = this.s.indexOf('>', this.pos);
    if (end < 0) throw bad('unterminated tag');
    let t = this.s.slice(this.pos + 1, end).trim();
    this.pos = end + 1;
    const close = t.startsWith('/');
    const empty = t.endsWith('/');
    t = t.replace(/^\//, '').replace(/\/$/, '').trim().split(/\s/)[0]!;
    return { name: t, close, empty };
  }

  private expect(name: string, close: boolean): void {
    const t = this.tag();
    if (t.name !== name || t.close !== close) throw bad(`<${close ? '/' : ''}${name}> expected, found <${t.close ? '/' : ''}${t.name}>`);
  }

  private text(): string {
    const end = this.s.indexOf('<', this.pos);
    if (end < 0) throw bad('unterminated text');
    const t = unescape(this.s.slice(this.pos, end));
    this.pos = end;
    return t;
  }

  private peekClose(name: string): boolean {
    const save = this.pos;
    const t = this.tag();
    if (t.close && t.name === name) return true;
    this.pos = save;
    return false;
  }

  value(): XmlValue {
    const open = this.tag();
    if (open.name !== 'value' || open.close) throw bad(`<value> expected, found <${open.name}>`);
    if (open.empty) return '';
    const save = this.pos;
    const raw = this.text();
    if (this.s.startsWith('</value>', this.pos)) {
      this.pos += 8;
      return raw;
    }
    if (raw.trim() !== '') throw bad('text mixed with a tag');
    this.pos = save;
    const t = this.tag();
    let v: XmlValue;
    if (t.empty) v = t.name === 'struct' ? {} : t.name === 'array' ? [] : '';
    else if (t.name === 'struct') {
      const o: Record<string, XmlValue> = {};
      while (!this.peekClose('struct')) {
        this.expect('member', false);
        this.expect('name', false);
        const k = this.text();
        this.expect('name', true);
        o[k] = this.value();
        this.expect('member', true);
      }
      v = o;
    } else if (t.name === 'array') {
      const a: XmlValue[] = [];
      const d = this.tag();
      if (d.name !== 'data' || d.close) throw bad('<data> expected');
      if (!d.empty) while (!this.peekClose('data')) a.push(this.value());
      this.expect('array', true);
      v = a;
    } else {
      const text = this.text();
      this.expect(t.name, true);
      switch (t.name) {
        case 'string': case 'dateTime.iso8601': v = text; break;
        case 'i4': case 'int': case 'i8': case 'double': v = Number(text); break;
        case 'boolean': v = text.trim() === '1' || text.trim() === 'true'; break;
        default: throw bad(`unknown value type <${t.name}>`);
      }
    }
    this.expect('value', true);
    return v;
  }
}

const isStruct = (v: XmlValue | undefined): v is Record<string, XmlValue> => !!v && typeof v === 'object' && !Array.isArray(v);

export function parseOvaXml(text: string): OvaDoc {
  const top = new Parser(text).value();
  if (!isStruct(top)) throw bad('the top value is not a struct');
  const objects = top.objects;
  if (!Array.isArray(objects)) throw bad('no objects array');
  return {
    version: isStruct(top.version) ? top.version : {},
    objects: objects.map((o) => {
      if (!isStruct(o) || typeof o.class !== 'string' || typeof o.id !== 'string' || !isStruct(o.snapshot)) throw bad('an object lacks class, id or snapshot');
      return { cls: o.class, id: o.id, snapshot: o.snapshot };
    }),
  };
}
