/**
 * @module
 * A small pull scanner for the XML subset XML-RPC uses: elements (attributes read and
 * ignored, namespace prefixes dropped), character data, the five predefined entities,
 * numeric character references, comments and CDATA. Anything that could make parsing
 * expensive or reach outside the document (DOCTYPE, entity declarations, processing
 * instructions past the prolog) is refused. The scanner never backtracks: every method
 * moves forward with `indexOf` or a single loop, so time is linear in the input.
 */

/** Thrown for any body that is not a well-formed XML-RPC document. */
export class XmlRpcParseError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`XML-RPC parse error at offset ${offset}: ${message}`);
    this.name = 'XmlRpcParseError';
  }
}

export interface OpenTag {
  /** The name as written, prefix included; the close tag must repeat it. */
  readonly raw: string;
  /** The name without a namespace prefix (`ex:nil` → `nil`). */
  readonly local: string;
  readonly selfClosing: boolean;
}

const LT = 60, GT = 62, SLASH = 47, BANG = 33, QMARK = 63, AMP = 38, CR = 13;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 58) // a-z A-Z 0-9 :
    || c === 45 || c === 46 || c === 95 || c > 127; // - . _ non-ASCII
}

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export class XmlReader {
  private i = 0;

  constructor(private readonly s: string) {}

  fail(message: string): never {
    throw new XmlRpcParseError(message, this.i);
  }

  /** Skips a byte-order mark and an `<?xml …?>` declaration at the start. */
  prolog(): void {
    if (this.s.charCodeAt(0) === 0xfeff) this.i = 1;
    // XML wants the declaration first; a stray leading newline from a client is forgiven.
    while (this.i < this.s.length && isSpace(this.s.charCodeAt(this.i))) this.i++;
    if (this.s.startsWith('<?xml', this.i) && isSpaceOrEnd(this.s.charCodeAt(this.i + 5))) {
      const end = this.s.indexOf('?>', this.i + 5);
      if (end < 0) this.fail('unterminated XML declaration');
      this.i = end + 2;
    }
  }

  /** Skips whitespace and comments between elements. */
  skipMisc(): void {
    const s = this.s;
    for (;;) {
      while (this.i < s.length && isSpace(s.charCodeAt(this.i))) this.i++;
      if (s.charCodeAt(this.i) === LT && s.charCodeAt(this.i + 1) === BANG) {
        if (s.startsWith('<!--', this.i)) { this.skipComment(); continue; }
        if (s.startsWith('<!DOCTYPE', this.i)) this.fail('DOCTYPE is not allowed');
        this.fail('unexpected markup declaration');
      }
      return;
    }
  }

  private skipComment(): void {
    const end = this.s.indexOf('-->', this.i + 4);
    if (end < 0) this.fail('unterminated comment');
    this.i = end + 3;
  }

  atEnd(): boolean {
    return this.i >= this.s.length;
  }

  /** True when the next markup is a close tag (call after skipMisc or readText). */
  atCloseTag(): boolean {
    return this.s.charCodeAt(this.i) === LT && this.s.charCodeAt(this.i + 1) === SLASH;
  }

  /** Reads a start tag at the cursor. */
  openTag(): OpenTag {
    const s = this.s;
    if (s.charCodeAt(this.i) !== LT) this.fail(this.i >= s.length ? 'unexpected end of input' : 'expected a start tag');
    const c1 = s.charCodeAt(this.i + 1);
    if (c1 === SLASH) this.fail('unexpected close tag');
    if (c1 === QMARK) this.fail('processing instructions are not allowed');
    if (c1 === BANG) this.fail(s.startsWith('<!DOCTYPE', this.i) ? 'DOCTYPE is not allowed' : 'unexpected markup declaration');
    const start = ++this.i;
    while (this.i < s.length && isNameChar(s.charCodeAt(this.i))) this.i++;
    if (this.i === start) this.fail('expected an element name');
    const raw = s.slice(start, this.i);
    this.skipAttributes();
    let selfClosing = false;
    if (s.charCodeAt(this.i) === SLASH) { selfClosing = true; this.i++; }
    if (s.charCodeAt(this.i) !== GT) this.fail(`malformed start tag <${raw}>`);
    this.i++;
    const colon = raw.lastIndexOf(':');
    return { raw, local: colon < 0 ? raw : raw.slice(colon + 1), selfClosing };
  }

  /** XML-RPC defines no attributes; they are checked for well-formedness and dropped. */
  private skipAttributes(): void {
    const s = this.s;
    for (;;) {
      const before = this.i;
      while (this.i < s.length && isSpace(s.charCodeAt(this.i))) this.i++;
      const c = s.charCodeAt(this.i);
      if (c === SLASH || c === GT || this.i >= s.length) return;
      if (this.i === before) this.fail('expected whitespace before an attribute');
      const nameStart = this.i;
      while (this.i < s.length && isNameChar(s.charCodeAt(this.i))) this.i++;
      if (this.i === nameStart) this.fail('malformed attribute');
      while (isSpace(s.charCodeAt(this.i))) this.i++;
      if (s.charCodeAt(this.i) !== 61 /* = */) this.fail('malformed attribute');
      this.i++;
      while (isSpace(s.charCodeAt(this.i))) this.i++;
      const q = s.charCodeAt(this.i);
      if (q !== 34 && q !== 39) this.fail('unquoted attribute value');
      const end = s.indexOf(q === 34 ? '"' : "'", this.i + 1);
      if (end < 0) this.fail('unterminated attribute value');
      if (s.slice(this.i + 1, end).includes('<')) this.fail('"<" in attribute value');
      this.i = end + 1;
    }
  }

  /** Reads the close tag of `tag`, allowing whitespace and comments before it. */
  closeTag(tag: OpenTag): void {
    this.skipMisc();
    const s = this.s;
    if (!this.atCloseTag()) {
      this.fail(this.i >= s.length ? `unexpected end of input, expected </${tag.raw}>` : `expected </${tag.raw}>`);
    }
    const start = this.i + 2;
    if (!s.startsWith(tag.raw, start)) this.fail(`mismatched close tag, expected </${tag.raw}>`);
    this.i = start + tag.raw.length;
    while (isSpace(s.charCodeAt(this.i))) this.i++;
    if (s.charCodeAt(this.i) !== GT) this.fail(`mismatched close tag, expected </${tag.raw}>`);
    this.i++;
  }

  /**
   * Reads character data up to the next tag, decoding references, dropping comments,
   * keeping CDATA verbatim and normalising line ends as XML requires.
   */
  readText(): string {
    const s = this.s;
    let out = '';
    for (;;) {
      const lt = s.indexOf('<', this.i);
      if (lt < 0) this.fail('unexpected end of input in character data');
      if (lt > this.i) out += this.decode(this.i, lt);
      this.i = lt;
      if (s.charCodeAt(lt + 1) !== BANG) return out;
      if (s.startsWith('<!--', lt)) { this.skipComment(); continue; }
      if (s.startsWith('<![CDATA[', lt)) {
        const end = s.indexOf(']]>', lt + 9);
        if (end < 0) this.fail('unterminated CDATA section');
        out += normalizeNewlines(s.slice(lt + 9, end));
        this.i = end + 3;
        continue;
      }
      this.fail(s.startsWith('<!DOCTYPE', lt) ? 'DOCTYPE is not allowed' : 'unexpected markup declaration');
    }
  }

  private decode(from: number, to: number): string {
    const s = this.s;
    // A bounded scan: indexOf from `from` could run past `to` to the end of the document
    // for every chunk, which is quadratic on bodies with many small values.
    let plain = true;
    for (let k = from; k < to; k++) {
      const c = s.charCodeAt(k);
      if (c === AMP || c === CR) { plain = false; break; }
    }
    if (plain) return s.slice(from, to);
    let out = '';
    let last = from;
    for (let k = from; k < to; k++) {
      const c = s.charCodeAt(k);
      if (c === AMP) {
        // The predefined entities without allocating their names: most escaped text is these.
        const fast = s.startsWith('amp;', k + 1) ? '&' : s.startsWith('lt;', k + 1) ? '<'
          : s.startsWith('gt;', k + 1) ? '>' : s.startsWith('quot;', k + 1) ? '"' : undefined;
        if (fast !== undefined) {
          out += s.slice(last, k) + fast;
          k += fast === '&' ? 4 : fast === '"' ? 5 : 3;
          last = k + 1;
          continue;
        }
        out += s.slice(last, k);
        const semi = s.indexOf(';', k + 1);
        if (semi < 0 || semi >= to || semi - k > 12) { this.i = k; this.fail('malformed entity reference'); }
        out += this.entity(s.slice(k + 1, semi), k);
        k = semi;
        last = semi + 1;
      } else if (c === CR) {
        out += s.slice(last, k) + '\n';
        if (s.charCodeAt(k + 1) === 10) k++;
        last = k + 1;
      }
    }
    return out + s.slice(last, to);
  }

  private entity(name: string, at: number): string {
    const known = PREDEFINED[name];
    if (known !== undefined && Object.hasOwn(PREDEFINED, name)) return known;
    let cp = NaN;
    if (name.charCodeAt(0) === 35 /* # */) {
      if (name[1] === 'x' || name[1] === 'X') {
        if (/^[0-9a-fA-F]{1,6}$/.test(name.slice(2))) cp = parseInt(name.slice(2), 16);
      } else if (/^[0-9]{1,7}$/.test(name.slice(1))) {
        cp = parseInt(name.slice(1), 10);
      }
      const valid = cp === 9 || cp === 10 || cp === 13 || (cp >= 0x20 && cp <= 0xd7ff)
        || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
      if (valid) return String.fromCodePoint(cp);
      this.i = at;
      this.fail(`invalid character reference &${name};`);
    }
    this.i = at;
    this.fail(`unknown entity &${name};`);
  }
}

function isSpaceOrEnd(c: number): boolean {
  return Number.isNaN(c) || isSpace(c);
}

function normalizeNewlines(t: string): string {
  return t.includes('\r') ? t.replace(/\r\n?/g, '\n') : t;
}

export function isBlank(t: string): boolean {
  for (let k = 0; k < t.length; k++) if (!isSpace(t.charCodeAt(k))) return false;
  return true;
}
