/**
 * @module
 * HTTP PUT and GET against the toolstack's file handlers (`/pool_patch_upload`,
 * `/import_raw_vdi`, `/export_raw_vdi`). xapi may answer with a redirect to the host that
 * holds the data, so both follow a few `302`s; a PUT can only be replayed when its body is
 * a buffer or a file, never a one-shot stream.
 */
import fs from 'node:fs';
import http from 'node:http';
import type httpsModule from 'node:https';
import type { Socket } from 'node:net';
import { https } from './lazy-builtin.js';
import { Readable } from 'node:stream';

/** What a PUT sends: bytes in memory, a file by path, or a stream of unknown length. */
export type FileBody = Buffer | Uint8Array | Readable | { readonly path: string };

export interface PutOptions {
  /** Called as bytes leave, with the total when it is known. */
  readonly onProgress?: (sent: number, total: number | undefined) => void;
  /** Request headers besides the body's own (kept across redirects). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Opens a connection to `url`'s host for one PUT, resolving once it can take the request
 * (TLS handshake done): the server closes an upload's connection after its answer, as
 * xapi does, so a PUT never borrows a connection that calls made before it would reuse.
 */
export type UploadConnector = (url: URL) => Promise<Socket>;

export interface PutResult {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** A handler answered with something other than 2xx. */
export class HttpStatusError extends Error {
  constructor(readonly status: number, readonly body: string, url: URL) {
    super(`HTTP ${status} from ${url.pathname}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

const MAX_REDIRECTS = 3;
/** Read size of an uploaded file: large reads keep the socket fed with few syscalls. */
const CHUNK = 1024 * 1024;
/**
 * What an uploaded file is handed to the socket in: each read is written in pieces of this
 * size, each once the socket has taken the last. Handed a whole megabyte, Node encrypts it
 * at once and gives the kernel all of it in one or two writes; the kernel queues what the
 * receiver's window cannot take yet and sends it as the receiver's acknowledgements open
 * the window, in the receiver's context when both ends share a machine (a loopback
 * connection, a host importing from itself), so the server pays for sending the client's
 * data as well as for receiving it. Written two TLS records at a time, the data leaves in
 * the writer's own context, nearly as curl's (one record per send) does. Measured over
 * loopback TLS, 1 GiB per upload: the server's CPU was 1.10 times what it spends on
 * curl's upload with 1 MiB writes and 0.99 with 32 KiB; xe's own rose from 0.8 to 1.2 s;
 * xe's time against curl's went from 0.86 to 0.89 (medians of 16 rounds). The work moves
 * more than it shrinks (both processes together spend some 0.3 s/GiB more): what the
 * pieces spare is the server's one thread, which every client of the host shares. Smaller
 * pieces cost xe more than they spare the server (16 KiB: 1.8 s of xe's CPU); 64 KiB
 * spared it less.
 */
export const UPLOAD_WRITE = 32 * 1024;

function moduleFor(u: URL): typeof http | typeof httpsModule {
  return u.protocol === 'https:' ? https() : http;
}

/** A redirect may leave the origin (another host of the pool); keep the query we were given. */
function redirectTarget(from: URL, location: string): URL {
  const next = new URL(location, from);
  if (!next.search) next.search = from.search;
  return next;
}

async function bodySize(body: FileBody): Promise<number | undefined> {
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) return body.byteLength;
  if (body instanceof Readable) return undefined;
  // fs.promises would load node:fs/promises (and the modules it brings) for one stat.
  const st = fs.statSync(body.path);
  return st.isFile() ? st.size : undefined;
}

function bodyStream(body: FileBody): Readable {
  if (body instanceof Readable) return body;
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) {
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return Readable.from((function* () {
      for (let i = 0; i < buf.length; i += CHUNK) yield buf.subarray(i, i + CHUNK);
    })());
  }
  return fs.createReadStream(body.path, { highWaterMark: CHUNK });
}

/**
 * A file sent from two recycled buffers: one is with the socket while the next is read
 * into the other, so a disk-sized upload neither allocates (and page-faults) a fresh
 * megabyte per read, as a file stream does, nor holds more than two megabytes.
 *
 * Reads are synchronous. The encryption of a TLS upload runs on this thread anyway, and an
 * asynchronous read costs a round trip through libuv's thread pool (a hand-off and a
 * wake-up per buffer): some 0.2 s of CPU per GiB here, a fifth of the client's share of an
 * upload, which on a small machine the server, encrypting at the other end, is short of.
 * A command has nothing else to do while its file goes out, and the socket stays fed: the
 * kernel still holds the buffer before while the next one is read.
 *
 * The socket is handed one piece at a time ({@link UPLOAD_WRITE}), the next when it has
 * taken the last: pieces that pile up in a stream leave it together as one vectored write,
 * which a TLS socket first copies into a single block (a copy of the whole upload) before
 * encrypting it.
 *
 * The pieces go to the socket itself, not through the request (`req.write`), once the
 * request's head has gone out: the request adds nothing a body of announced length needs,
 * and costs a cork, a deferred uncork and a 'drain' relay per piece. For a GiB of 32 KiB
 * pieces over loopback TLS, that was 1.25 s of xe's CPU against 1.07 s on the socket
 * (medians of 28 interleaved rounds; curl spent 0.96), with the server's CPU unchanged.
 *
 * The pump is a few small callbacks rather than an async function looping over the file:
 * V8 compiled that function with its optimizing compiler near the end of every large
 * upload (some 18 ms of a background thread's CPU for a GiB, `node --trace-opt`), taken
 * from a machine whose cores the upload already keeps busy, for the last few buffers.
 */
function pumpFile(path: string, size: number, req: http.ClientRequest, socket: Socket, onChunk: (n: number) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fd = fs.openSync(path, 'r');
    let settled = false;
    const settle = (e?: Error) => {
      if (settled) return;
      settled = true;
      fs.closeSync(fd);
      if (e) reject(e);
      else resolve();
    };
    req.once('error', (e: Error) => settle(e));
    req.once('close', () => settle(new Error('the connection closed during the upload')));
    let [sending, spare] = [Buffer.allocUnsafeSlow(Math.min(CHUNK, size)), Buffer.allocUnsafeSlow(Math.min(CHUNK, size))];
    // No more than the length announced, should the file grow meanwhile.
    let pos = 0;
    const read = (into: Buffer) => (pos < size ? fs.readSync(fd, into, 0, Math.min(CHUNK, size - pos), pos) : 0);
    /** Sends `n` bytes of `sending` piece by piece, reading the next buffer once the first piece is out. */
    const send = (n: number) => {
      let at = 0;
      let following = -1;
      const next = (err?: Error | null) => {
        if (settled) return;
        if (err) return settle(err);
        if (at >= n) {
          [sending, spare] = [spare, sending];
          if (following > 0) return send(following);
          req.end();
          return settle();
        }
        const piece = sending.subarray(at, Math.min(at + UPLOAD_WRITE, n));
        at += piece.length;
        socket.write(piece, next);
        if (following < 0) {
          try {
            following = read(spare);
          } catch (e) {
            return settle(e as Error);
          }
          pos += following;
        }
      };
      onChunk(n);
      next();
    };
    try {
      const first = read(sending);
      pos += first;
      if (first > 0) send(first);
      else {
        req.end();
        settle();
      }
    } catch (e) {
      settle(e as Error);
    }
  });
}

export async function httpPut(url: URL, connect: UploadConnector, body: FileBody, opts: PutOptions = {}, hops = 0): Promise<PutResult> {
  const total = await bodySize(body);
  const file = !(body instanceof Readable) && !Buffer.isBuffer(body) && !(body instanceof Uint8Array) && total !== undefined ? body.path : undefined;
  const src = file === undefined ? bodyStream(body) : undefined;
  const socket = await connect(url);
  const res = await new Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    const headers: Record<string, string | number> = { ...opts.headers, 'Content-Type': 'application/octet-stream' };
    if (total !== undefined) headers['Content-Length'] = total;
    const req = moduleFor(url).request(url, { method: 'PUT', headers, createConnection: () => socket }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      // An answer that ends before the body is all out (a refusal, a redirect: a handler
      // answers success only once it has every byte) ends the request with it: the request
      // has no agent, so Node closes its connection then, and the rest is not sent.
      r.on('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: r.headers }));
      r.on('error', reject);
    });
    req.on('error', reject);
    let sent = 0;
    const progress = (n: number) => {
      sent += n;
      opts.onProgress?.(sent, total);
    };
    if (file !== undefined) {
      // The head goes out alone, the moment the request has its (connected) socket, and the
      // file after it. Written together, the head and the first buffer would leave as one
      // vectored write, which a TLS socket first copies into a single fresh block: a
      // megabyte copied and some 250 pages faulted in for every upload.
      req.flushHeaders();
      req.once('socket', () => setImmediate(() => pumpFile(file, total!, req, socket, progress).catch((e: Error) => req.destroy(e))));
      return;
    }
    src!.on('data', (c: Buffer) => progress(c.length));
    src!.on('error', (e) => req.destroy(e));
    src!.pipe(req);
  });
  if (res.status >= 300 && res.status < 400 && res.headers.location) {
    if (body instanceof Readable) throw new Error(`cannot replay a streamed upload after a redirect to ${res.headers.location}`);
    if (hops >= MAX_REDIRECTS) throw new Error('too many redirects');
    return httpPut(redirectTarget(url, res.headers.location), connect, body, opts, hops + 1);
  }
  if (res.status < 200 || res.status >= 300) throw new HttpStatusError(res.status, res.text, url);
  return { status: res.status, body: res.text, headers: res.headers };
}

export function httpGet(url: URL, agent: http.Agent, hops = 0): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const req = moduleFor(url).request(url, { method: 'GET', agent }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (hops >= MAX_REDIRECTS) return reject(new Error('too many redirects'));
        return resolve(httpGet(redirectTarget(url, res.headers.location), agent, hops + 1));
      }
      if (status !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(new HttpStatusError(status, Buffer.concat(chunks).toString('utf8'), url)));
        res.on('error', reject);
        return;
      }
      resolve(res);
    });
    req.on('error', reject);
    req.end();
  });
}
