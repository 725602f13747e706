/**
 * @module
 * An HTTP GET whose body goes straight into a file, over plain TCP or TLS, for `xe
 * vdi-export` and `xe vm-export`. Node's HTTP client hands the body over as 16–64 KiB
 * buffers, each through the parser, a stream push and an iterator step, and each copied
 * again into the write batch: for a disk-sized body that costs more CPU than the transfer
 * itself (over TLS, more than decrypting it). Here the socket reads (`onread`, which a TLS
 * socket also takes: each decrypted record is copied once, from OpenSSL's output into our
 * buffer) land directly in the 8 MiB batch buffers that are written to the file, one write
 * in flight while the next buffer fills; the socket pauses while no buffer is free. The
 * body may be delimited by the connection's end (as xapi's exports are), by
 * `Content-Length`, or chunked (decoded in place). Redirects are followed; any other status
 * fails with the server's text.
 */
import type { FileHandle } from 'node:fs/promises';
import type net from 'node:net';
import { connectTo, type ConnectToOptions } from './connect-to.js';
import { HttpStatusError } from './http-transfer.js';
import { fsPromises } from './lazy-builtin.js';
import { writeSkippingZeroes } from './sparse-file-write.js';

const MiB = 1024 * 1024;
const BATCH = 8 * MiB;
const BUFFERS = 3;
const MAX_HEAD = 64 * 1024;
const MAX_REDIRECTS = 3;
const ERROR_TEXT = 64 * 1024;

export interface SocketDownloadOptions extends ConnectToOptions {
  /** Leave MiB runs of zeroes as holes (a disk image); the file ends at the body's length. */
  readonly sparse?: boolean;
  /** Called with the body bytes written so far (and the body's length when announced), at most once per buffer written. */
  readonly onBytes?: (received: number, total: number | undefined) => void;
}

interface Head {
  status: number;
  headers: Map<string, string>;
}

function parseHead(text: string): Head {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  return { status: Number(m[1]), headers };
}


/** Chunked transfer coding decoded in place: body bytes move down over the framing. */
class ChunkedDecoder {
  /** Data bytes left in the current chunk; -1 while a size line is expected. */
  private left = -1;
  /** Bytes of a size line (or of the CRLF after data) not complete yet. */
  private line = '';
  private afterData = false;
  done = false;

  /** Decodes `buf[from, to)`, writing body bytes from `out`; returns the new body end. */
  decode(buf: Buffer, out: number, from: number, to: number): number {
    let at = from;
    while (at < to && !this.done) {
      if (this.left > 0) {
        const n = Math.min(this.left, to - at);
        if (out !== at) buf.copyWithin(out, at, at + n);
        out += n;
        at += n;
        this.left -= n;
        if (this.left === 0) this.afterData = true;
        continue;
      }
      // A line: the size of the next chunk, or the empty line closing a chunk's data.
      const nl = buf.indexOf(10, at);
      const end = nl < 0 || nl >= to ? to : nl + 1;
      this.line += buf.toString('latin1', at, end);
      at = end;
      if (!this.line.endsWith('\n')) {
        if (this.line.length > 4096) throw new Error('chunked body: a framing line is too long');
        continue;
      }
      const text = this.line.trim();
      this.line = '';
      if (this.afterData) {
        if (text !== '') throw new Error('chunked body: no CRLF after a chunk');
        this.afterData = false;
        continue;
      }
      const size = parseInt(text.split(';')[0]!, 16);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`chunked body: bad chunk size ${JSON.stringify(text.slice(0, 40))}`);
      if (size === 0) this.done = true; // trailers, if any, are not read
      else this.left = size;
    }
    return out;
  }
}

function checkScheme(url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`socketDownload takes http: and https: URLs, not ${url.protocol}`);
}

/** Writes the body of `url` (`http:` or `https:`) to `path`; resolves with the bytes written. */
export async function socketDownload(url: URL, path: string, o: SocketDownloadOptions = {}, hops = 0): Promise<number> {
  checkScheme(url);
  const fh = await fsPromises().open(path, 'w');
  let redirect: URL | undefined;
  try {
    const got = await receive(url, fh, o);
    if ('location' in got) redirect = got.location;
    else return got.bytes;
  } finally {
    await fh.close();
  }
  if (hops >= MAX_REDIRECTS) throw new Error('too many redirects');
  checkScheme(redirect);
  return socketDownload(redirect, path, o, hops + 1);
}

function receive(url: URL, fh: FileHandle, o: SocketDownloadOptions): Promise<{ bytes: number } | { location: URL }> {
  return new Promise((resolve, reject) => {
    const spare: Buffer[] = [];
    for (let i = 1; i < BUFFERS; i++) spare.push(Buffer.allocUnsafeSlow(BATCH));
    let current: Buffer = Buffer.allocUnsafeSlow(BATCH);
    /** Bytes in `current`: the head while it is incomplete, then body bytes only. */
    let filled = 0;
    let head: Head | undefined;
    let length: number | undefined;
    let chunked: ChunkedDecoder | undefined;
    let received = 0;
    let pos = 0;
    let writing: Promise<void> = Promise.resolve();
    let failed = false;
    let errorText: string | undefined;
    let waiting = false;
    const hold = Buffer.allocUnsafeSlow(64 * 1024);
    /**
     * Bytes that arrived while paused. A TLS socket asked to stop still hands over what it
     * already decrypted (the rest of the records of its last read), into `hold`.
     */
    const overflow: Buffer[] = [];

    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      socket.destroy();
      writing.catch(() => undefined).finally(() => reject(e));
    };

    const writeOut = async (buf: Buffer, n: number, at: number): Promise<void> => {
      await writeSkippingZeroes(fh, buf, n, at, o.sparse === true);
      spare.push(buf);
      o.onBytes?.(at + n, length);
    };

    /** Hands the full buffer to the file; false when no buffer is free (the socket pauses). */
    const queue = (): boolean => {
      const buf = current;
      const n = filled;
      const at = pos;
      pos += n;
      writing = writing.then(() => writeOut(buf, n, at));
      writing.catch(fail);
      const next = spare.pop();
      filled = 0;
      if (next) {
        current = next;
        return true;
      }
      // Paused until the write in flight gives its buffer back. Node asks for the next read's
      // buffer before that: it gets `hold`, whose bytes are moved into the batch on arrival.
      waiting = true;
      void writing.then(() => {
        if (failed) return;
        current = spare.pop()!;
        waiting = false;
        try {
          if (!drainOverflow()) return;
        } catch (e) {
          return fail(e);
        }
        if (closed) return finish();
        if (ended()) socket.end();
        socket.resume();
      }, () => undefined);
      return false;
    };

    /** Moves the bytes kept while paused into the batch; false when that paused again. */
    const drainOverflow = (): boolean => {
      while (overflow.length) {
        const b = overflow.shift()!;
        const n = Math.min(b.length, BATCH - filled);
        current.set(b.subarray(0, n), filled);
        if (n < b.length) overflow.unshift(b.subarray(n));
        if (!(head ? onBody(filled, filled + n) : onHead(filled + n))) return false;
      }
      return true;
    };

    const ended = () => !failed && ((chunked?.done ?? false) || (length !== undefined && received >= length));

    /** Body bytes that just landed at `[from, to)` of `current`. */
    const onBody = (from: number, to: number): boolean => {
      filled = chunked ? chunked.decode(current, from, from, to) : to;
      if (errorText !== undefined) {
        // An error's text is kept (its start), not written to the file.
        if (errorText.length < ERROR_TEXT) errorText += current.toString('utf8', from, filled);
        filled = 0;
        return true;
      }
      if (length !== undefined && received + (filled - from) > length) filled = from + (length - received);
      received += filled - from;
      if (filled === BATCH) return queue();
      return true;
    };

    const onHead = (to: number): boolean => {
      const end = current.subarray(0, to).indexOf('\r\n\r\n');
      if (end < 0) {
        if (to >= MAX_HEAD) throw new Error('the response head is too large');
        filled = to;
        return true;
      }
      head = parseHead(current.toString('latin1', 0, end));
      const te = head.headers.get('transfer-encoding')?.toLowerCase();
      if (te && te !== 'identity') {
        if (te !== 'chunked') throw new Error(`unsupported transfer encoding ${te}`);
        chunked = new ChunkedDecoder();
      } else if (head.headers.has('content-length')) {
        length = Number(head.headers.get('content-length'));
        if (!Number.isSafeInteger(length) || length < 0) throw new Error('bad Content-Length');
      }
      const location = head.headers.get('location');
      if (head.status >= 300 && head.status < 400 && location) {
        failed = true;
        socket.destroy();
        const next = new URL(location, url);
        if (!next.search) next.search = url.search;
        resolve({ location: next });
        return false;
      }
      if (head.status !== 200) errorText = '';
      const bodyStart = end + 4;
      current.copyWithin(0, bodyStart, to);
      filled = 0;
      return onBody(0, to - bodyStart);
    };

    const onread = {
      buffer: () => (waiting ? hold : current.subarray(filled)),
      callback: (n: number, buf: Uint8Array): boolean => {
        if (failed) return false;
        try {
          let more: boolean;
          if (buf.buffer !== current.buffer) {
            // Into `hold`: while paused, or the first read after (its buffer was asked for before).
            overflow.push(Buffer.from(buf.subarray(0, n)));
            if (waiting) return false;
            more = drainOverflow();
          } else {
            more = head ? onBody(filled, filled + n) : onHead(filled + n);
          }
          if (ended()) socket.end();
          return more;
        } catch (e) {
          fail(e);
          return false;
        }
      },
    };
    const socket: net.Socket = connectTo(url, { ...o, onread });
    socket.on('error', fail);
    let closed = false;
    const finish = () => {
      if (!head) return fail(new Error('the connection closed before a response'));
      if (errorText !== undefined) return fail(new HttpStatusError(head.status, errorText, url));
      if (chunked && !chunked.done) return fail(new Error('the connection closed inside a chunked body'));
      if (length !== undefined && received < length) return fail(new Error(`the connection closed after ${received} of ${length} bytes`));
      failed = true; // settled
      if (filled > 0) queue();
      writing.then(async () => {
        if (o.sparse) await fh.truncate(pos);
        resolve({ bytes: pos });
      }, reject);
    };
    socket.on('close', () => {
      if (failed) return;
      closed = true;
      // A TLS socket may close while paused, bytes still held back: those go first.
      if (!waiting) finish();
    });
    const target = `${url.pathname}${url.search}`;
    socket.write(`GET ${target} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: islet-xe\r\nConnection: close\r\n\r\n`);
  });
}
