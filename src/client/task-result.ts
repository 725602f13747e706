/**
 * @module
 * Decodes `task.result`. xapi stores a task's result as an XML-RPC `<value>` fragment even
 * for JSON-RPC clients (`<value>OpaqueRef:…</value>`), while HTTP handlers store a bare
 * ref; an empty string is a void result. This reads the fragment back into plain values.
 */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16))
      : e.startsWith('#') ? String.fromCodePoint(parseInt(e.slice(1), 10))
        : ENTITIES[e]!);
}

class Reader {
  pos = 0;
  constructor(readonly src: string) {}
  skipWs(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }
  /** Consumes `<name>` (or `<name/>`, reported as self-closing) when it comes next. */
  open(name: string): 'open' | 'empty' | false {
    this.skipWs();
    const m = new RegExp(`^<${name}\\s*(/?)>`).exec(this.src.slice(this.pos));
    if (!m) return false;
    this.pos += m[0].length;
    return m[1] ? 'empty' : 'open';
  }
  close(name: string): void {
    this.skipWs();
    const tag = `</${name}>`;
    if (!this.src.startsWith(tag, this.pos)) throw new Error(`expected ${tag} at ${this.pos}`);
    this.pos += tag.length;
  }
  text(): string {
    const end = this.src.indexOf('<', this.pos);
    const raw = this.src.slice(this.pos, end < 0 ? undefined : end);
    this.pos = end < 0 ? this.src.length : end;
    return unescapeXml(raw);
  }
}

function readValue(r: Reader): unknown {
  const o = r.open('value');
  if (!o) throw new Error('expected <value>');
  if (o === 'empty') return '';
  const start = r.pos;
  r.skipWs();
  if (r.src[r.pos] !== '<' || r.src.startsWith('</value>', r.pos)) {
    r.pos = start;
    const s = r.text();
    r.close('value');
    return s;
  }
  let v: unknown;
  const scalar = (tag: string, conv: (s: string) => unknown): boolean => {
    const t = r.open(tag);
    if (!t) return false;
    v = conv(t === 'empty' ? '' : r.text());
    if (t === 'open') r.close(tag);
    return true;
  };
  if (scalar('string', (s) => s)) { /* done */ }
  else if (scalar('int', Number) || scalar('i4', Number) || scalar('i8', Number) || scalar('double', Number)) { /* done */ }
  else if (scalar('boolean', (s) => s.trim() === '1')) { /* done */ }
  else if (scalar('dateTime.iso8601', (s) => s)) { /* done */ }
  else if (r.open('array')) {
    const items: unknown[] = [];
    if (r.open('data') === 'open') {
      for (;;) {
        r.skipWs();
        if (!r.src.startsWith('<value', r.pos)) break;
        items.push(readValue(r));
      }
      r.close('data');
    }
    r.close('array');
    v = items;
  } else if (r.open('struct')) {
    const obj: Record<string, unknown> = {};
    while (r.open('member')) {
      if (!r.open('name')) throw new Error('expected <name>');
      const k = r.text();
      r.close('name');
      obj[k] = readValue(r);
      r.close('member');
    }
    r.close('struct');
    v = obj;
  } else {
    throw new Error(`unexpected XML-RPC value at ${r.pos}`);
  }
  r.close('value');
  return v;
}

/** A task result as a plain value: a ref string, a list, a struct… or `''` for void. */
export function decodeTaskResult(result: string): unknown {
  const s = result.trim();
  if (!s.startsWith('<value')) return s;
  try {
    return readValue(new Reader(s));
  } catch {
    return s;
  }
}
