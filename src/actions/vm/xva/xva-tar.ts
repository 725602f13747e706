/**
 * @module
 * The tar framing of an XVA, written here rather than taken from a library because an XVA
 * uses only plain files: ustar headers (512 bytes, octal fields, a byte-sum checksum), data
 * padded to 512 bytes, two zero blocks at the end. The reader also skips pax and GNU
 * long-name records, which other tar writers put in front of long names.
 */
import { ApiError } from '../../../core/api-error.js';

const BLOCK = 512;

function octal(buf: Buffer, at: number, width: number, n: number): void {
  buf.write(n.toString(8).padStart(width - 1, '0'), at, width - 1, 'ascii');
}

/** The 512-byte ustar header of a regular file. */
export function tarHeader(name: string, size: number, mtime = Math.floor(Date.now() / 1000)): Buffer {
  const h = Buffer.alloc(BLOCK);
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new Error(`tar: name too long: ${name}`);
  nameBytes.copy(h, 0);
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156);
  h[156] = 0x30; // '0': a regular file
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Buffer {
  const r = size % BLOCK;
  return Buffer.alloc(r === 0 ? 0 : BLOCK - r);
}

/** The end of an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

const bad = (why: string) => new ApiError('IMPORT_ERROR', [`not a valid XVA: ${why}`]);

/**
 * A source that fills the caller's buffer (an upload body read in large pieces): resolves
 * with the bytes placed, fewer than asked only at its end.
 */
export interface PullSource {
  readInto(target: Buffer): Promise<number>;
}

function isPullSource(s: AsyncIterable<Buffer> | PullSource): s is PullSource {
  return typeof (s as PullSource).readInto === 'function';
}

/**
 * Reads exact byte counts from a stream of buffers of any sizes, or from a pull source; a
 * pull source fills the caller's buffer directly (a disk chunk lands where it is gathered).
 */
export class ByteReader {
  private parts: Buffer[] = [];
  private have = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer> | undefined;
  private readonly pull: PullSource | undefined;
  /** Bytes consumed so far. */
  consumed = 0;

  constructor(source: AsyncIterable<Buffer> | PullSource) {
    if (isPullSource(source)) this.pull = source;
    else this.it = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.have < n && !this.done) {
      const r = await this.it!.next();
      if (r.done) this.done = true;
      else if (r.value.length) {
        this.parts.push(r.value);
        this.have += r.value.length;
      }
    }
    return this.have >= n;
  }

  /**
   * Exactly `n` bytes, or fewer only at the end of the stream. Bytes inside one received
   * buffer come back as a view of it; bytes spread over several are gathered into `into`
   * when it is large enough (the caller recycles it), else into a new buffer.
   */
  async read(n: number, into?: Buffer): Promise<Buffer> {
    if (this.pull) {
      const out = into && into.length >= n ? into.subarray(0, n) : Buffer.allocUnsafe(n);
      const got = this.done || n === 0 ? 0 : await this.pull.readInto(out);
      if (got < n) this.done = true;
      this.consumed += got;
      return out.subarray(0, got);
    }
    await this.fill(n);
    const take = Math.min(n, this.have);
    let out: Buffer;
    const first = this.parts[0];
    if (first && first.length >= take) {
      out = first.subarray(0, take);
      if (first.length === take) this.parts.shift();
      else this.parts[0] = first.subarray(take);
    } else {
      out = into && into.length >= take ? into.subarray(0, take) : Buffer.allocUnsafe(take);
      let at = 0;
      while (at < take) {
        const part = this.parts[0]!;
        const n2 = Math.min(part.length, take - at);
        part.copy(out, at, 0, n2);
        at += n2;
        if (n2 === part.length) this.parts.shift();
        else this.parts[0] = part.subarray(n2);
      }
    }
    this.have -= take;
    this.consumed += take;
    return out;
  }

  async exactly(n: number, what: string, into?: Buffer): Promise<Buffer> {
    const b = await this.read(n, into);
    if (b.length !== n) throw bad(`the stream ends inside ${what}`);
    return b;
  }
}

export interface TarEntry {
  readonly name: string;
  readonly size: number;
}

function field(h: Buffer, at: number, width: number): string {
  const s = h.subarray(at, at + width);
  const z = s.indexOf(0);
  return (z < 0 ? s : s.subarray(0, z)).toString('utf8');
}

function number(h: Buffer, at: number, width: number): number {
  if (h[at]! & 0x80) {
    // GNU base-256 for sizes past 8 GiB.
    let n = 0;
    for (let i = at + 1; i < at + width; i++) n = n * 256 + h[i]!;
    return n;
  }
  const t = field(h, at, width).trim();
  const n = t === '' ? 0 : parseInt(t, 8);
  if (!Number.isSafeInteger(n)) throw bad('a header holds a bad number');
  return n;
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === number(h, 148, 8);
}

/**
 * The archive's file entries in order. The caller reads each entry's data with
 * `reader.exactly(entry.size)` (or `skipData`) before asking for the next; padding is
 * skipped here.
 */
export async function* tarEntries(reader: ByteReader): AsyncGenerator<TarEntry> {
  let longName: string | undefined;
  let pending = 0;
  for (;;) {
    if (pending) await reader.exactly(pending, 'padding');
    const h = await reader.read(BLOCK);
    if (h.length === 0) throw new ApiError('IMPORT_ERROR_PREMATURE_EOF', []);
    if (h.length < BLOCK) throw bad('the stream ends inside a header');
    if (h.every((b) => b === 0)) return;
    if (!checksumOk(h)) throw bad('a tar header checksum is wrong');
    const type = String.fromCharCode(h[156]!);
    const size = number(h, 124, 12);
    const prefix = field(h, 345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    longName = undefined;
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === 'L') {
      longName = (await reader.exactly(size, 'a long name')).toString('utf8').replace(/\0+$/, '');
      pending = pad;
      continue;
    }
    if (type === 'x' || type === 'g' || type === '5') {
      await reader.exactly(size, 'an extended header');
      pending = pad;
      continue;
    }
    if (type !== '0' && type !== '\0') throw bad(`unexpected tar entry type ${JSON.stringify(type)} for ${name}`);
    name = name.replace(/^\.\//, '');
    pending = pad;
    yield { name, size };
  }
}
