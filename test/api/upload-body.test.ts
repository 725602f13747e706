/**
 * The upload body reader (`src/api/upload-body.ts`) behind the real API listener (TLS and
 * plain HTTP on one port, its connection guard with a short body timeout): bodies with a
 * Content-Length arrive whole and in order over both protocols, read into buffers of odd
 * sizes or as pieces, also when the handler opens the body while the parser is still on
 * the read that carried the head, and when the reader holds back longer than the body
 * timeout; chunked bodies are read from the parser; a body cut short, a client that stops
 * sending, and a body over the limit fail with the reader's errors; a cancelled transfer's
 * read fails at once with the cancel's reason; an open-ended upload
 * (a huge claimed length) ends with the connection and keeps what arrived; an answer is
 * sent after the body and the connection is then closed.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { listenDual, type DualListener } from '../../src/main/dual-listener.js';
import { loadOrCreateTlsIdentity } from '../../src/main/tls-identity.js';
import { openUploadBody, UploadCutShort, UploadTooLarge, type UploadBody, type UploadBodyOptions } from '../../src/api/upload-body.js';

const WAIT_MS = 20_000;
const BODY_IDLE_MS = 1500;
const MiB = 1024 * 1024;

function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  })]).finally(() => clearTimeout(t));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a handler saw: the bytes read, whether the reader steered, or the error it got. */
interface Seen {
  bytes: Buffer;
  steered: boolean;
  endedByClose: boolean;
  error?: Error;
}

type Reading = (body: UploadBody) => Promise<Buffer>;

/** Reads the whole body into targets of odd sizes (and a zero-length one). */
const readIntoOdd: Reading = async (body) => {
  const parts: Buffer[] = [];
  const sizes = [1, 0, 511, 777_777, 64 * 1024, 3 * MiB + 5];
  for (let i = 0; ; i++) {
    const t = Buffer.alloc(sizes[i % sizes.length]!);
    const n = await body.readInto(t);
    parts.push(t.subarray(0, n));
    if (n < t.length) break;
  }
  return Buffer.concat(parts);
};

/** Reads pieces, copying each (the reader reuses its buffer). */
const readPieces: Reading = async (body) => {
  const parts: Buffer[] = [];
  for await (const piece of body) parts.push(Buffer.from(piece));
  return Buffer.concat(parts);
};

interface Route {
  opts: UploadBodyOptions;
  read: Reading;
  /** Open the body inside the request event, before anything is awaited. */
  sync?: boolean;
}

describe('upload body reader', () => {
  let dir: string;
  let listener: DualListener;
  const routes = new Map<string, Route>();
  const seen = new Map<string, (s: Seen) => void>();

  /** The handler's view of the next request to `path`. */
  function expectAt(path: string, route: Route): Promise<Seen> {
    routes.set(path, route);
    return within(new Promise<Seen>((resolve) => seen.set(path, resolve)), `the handler of ${path} to finish`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes.get(path);
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    if (!route.sync) await sleep(5); // as a handler that authenticates first
    const body = openUploadBody(req, route.opts);
    const s: Seen = { bytes: Buffer.alloc(0), steered: body.steered, endedByClose: false };
    try {
      s.bytes = await route.read(body);
      s.endedByClose = body.endedByClose;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 64 });
      res.end(sha(s.bytes));
    } catch (e) {
      s.error = e as Error;
      if (!res.headersSent) res.writeHead(400, { 'content-length': 0 }).end();
    }
    seen.get(path)!(s);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upload-body-'));
    const tls = await loadOrCreateTlsIdentity(dir, { hostName: 'upload-test', addresses: ['127.0.0.1'] });
    listener = await listenDual('127.0.0.1', 0, tls, (req, res) => void handle(req, res), {
      limits: { headersMs: 10_000, keepAliveMs: 10_000, bodyIdleMs: BODY_IDLE_MS, maxPerPeer: 64 },
    });
  });

  after(async () => {
    await listener?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** PUTs `data` in pieces of `piece` bytes (Content-Length unless `chunked`); resolves with status, body and whether the connection was closed. */
  function put(tls: boolean, path: string, data: Buffer, o: { chunked?: boolean; piece?: number } = {}): Promise<{ status: number; text: string; close: boolean }> {
    return within(new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = o.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': data.length };
      const opts = { host: '127.0.0.1', port: listener.port, path, method: 'PUT', headers, rejectUnauthorized: false, agent: false as const };
      const req = (tls ? httpsRequest : httpRequest)(opts, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, close: res.headers.connection === 'close' }));
        res.on('error', reject);
      });
      req.on('error', reject);
      const piece = o.piece ?? 100_003;
      void (async () => {
        for (let at = 0; at < data.length; at += piece) {
          if (!req.write(data.subarray(at, at + piece))) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })();
    }), `PUT ${path}`);
  }

  for (const tls of [false, true]) {
    const proto = tls ? 'TLS' : 'plain HTTP';

    it(`reads a Content-Length body whole and in order over ${proto}, into odd-sized buffers and as pieces`, async () => {
      const data = randomBytes(9 * MiB + 123);
      for (const [name, read] of [['odd', readIntoOdd], ['pieces', readPieces]] as const) {
        const path = `/cl-${tls}-${name}`;
        const handled = expectAt(path, { opts: {}, read });
        const answer = await put(tls, path, data);
        const s = await handled;
        assert.equal(s.error, undefined);
        assert.equal(s.steered, true, 'the connection was taken from the parser');
        assert.equal(s.bytes.length, data.length);
        assert.equal(sha(s.bytes), sha(data));
        assert.deepEqual([answer.status, answer.text, answer.close], [200, sha(data), true], 'the answer came, and the connection closes after it');
      }
    });

    it(`reads a chunked body from the parser over ${proto}`, async () => {
      const data = randomBytes(3 * MiB + 7);
      const handled = expectAt(`/chunked-${tls}`, { opts: {}, read: readIntoOdd });
      const answer = await put(tls, `/chunked-${tls}`, data, { chunked: true, piece: 40_000 });
      const s = await handled;
      assert.equal(s.error, undefined);
      assert.equal(s.steered, false);
      assert.equal(sha(s.bytes), sha(data));
      assert.equal(answer.status, 200);
    });

    it(`keeps order when the reader holds back longer than the body timeout over ${proto}`, async () => {
      const data = randomBytes(12 * MiB);
      const slow: Reading = async (body) => {
        const parts: Buffer[] = [];
        for (let i = 0; ; i++) {
          // Once well past the listener's body timeout: the reader, not the client, is waiting.
          if (i === 2) await sleep(BODY_IDLE_MS * 2);
          const t = Buffer.alloc(512 * 1024);
          const n = await body.readInto(t);
          parts.push(t.subarray(0, n));
          if (n < t.length) break;
        }
        return Buffer.concat(parts);
      };
      const handled = expectAt(`/slow-${tls}`, { opts: {}, read: slow });
      await put(tls, `/slow-${tls}`, data);
      const s = await handled;
      assert.equal(s.error, undefined);
      assert.equal(sha(s.bytes), sha(data));
    });
  }

  /** A raw connection (TLS or plain) to the listener. */
  function raw(tls: boolean): Promise<Socket> {
    return within(new Promise<Socket>((resolve, reject) => {
      const s = tls
        ? tlsConnect({ host: '127.0.0.1', port: listener.port, rejectUnauthorized: false }, () => resolve(s))
        : netConnect({ host: '127.0.0.1', port: listener.port }, () => resolve(s));
      s.once('error', reject);
    }), 'a connection');
  }

  const head = (path: string, length: number) => `PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`;

  it('takes the body bytes that came with the head when the handler opens the body at once', async () => {
    for (const tls of [false, true]) {
      const data = randomBytes(40_000);
      const handled = expectAt(`/sync-${tls}`, { opts: {}, read: readPieces, sync: true });
      const s = await raw(tls);
      s.on('error', () => undefined);
      s.write(Buffer.concat([Buffer.from(head(`/sync-${tls}`, data.length)), data]));
      const got = await handled;
      s.destroy();
      assert.equal(got.error, undefined);
      assert.equal(sha(got.bytes), sha(data), `${tls ? 'TLS' : 'plain'}: the bytes in the head's read come first`);
    }
  });

  it('fails a body cut short of its declared length (plain and TLS)', async () => {
    for (const tls of [false, true]) {
      const handled = expectAt(`/short-${tls}`, { opts: {}, read: readPieces });
      const s = await raw(tls);
      s.on('error', () => undefined);
      s.write(head(`/short-${tls}`, 100_000));
      s.write(randomBytes(5000));
      await sleep(100);
      s.end();
      const got = await handled;
      assert.ok(got.error instanceof UploadCutShort, `got ${String(got.error)}`);
      assert.equal(got.error.received, 5000);
      assert.equal(got.error.declared, 100_000);
    }
  });

  it('fails a body whose client stops sending, once the listener\'s body timeout cuts it (plain and TLS)', async () => {
    for (const tls of [false, true]) {
      const handled = expectAt(`/stall-${tls}`, { opts: {}, read: readIntoOdd });
      const s = await raw(tls);
      s.on('error', () => undefined);
      s.write(head(`/stall-${tls}`, 10 * MiB));
      s.write(randomBytes(3000));
      const closed = within(new Promise((r) => s.once('close', r)), 'the stalled connection to be closed by the server', BODY_IDLE_MS * 8);
      const got = await handled;
      await closed;
      assert.ok(got.error instanceof UploadCutShort, `got ${String(got.error)}`);
    }
  });

  it('stops a read waiting on a client that sends no more once the work is cancelled, before any body timeout (plain and TLS)', async () => {
    for (const tls of [false, true]) {
      const ac = new AbortController();
      const reason = new Error('cancelled by the test');
      let reading!: () => void;
      const started = new Promise<void>((r) => { reading = r; });
      const read: Reading = async (body) => {
        const p = body.readInto(Buffer.alloc(MiB));
        reading();
        await p;
        return Buffer.alloc(0);
      };
      const handled = expectAt(`/cancel-${tls}`, { opts: { signal: ac.signal }, read });
      const s = await raw(tls);
      s.on('error', () => undefined);
      s.write(head(`/cancel-${tls}`, 10 * MiB));
      s.write(randomBytes(3000));
      await within(started, 'the handler to start reading');
      ac.abort(reason);
      const got = await handled;
      s.destroy();
      // A body timeout would have failed it with UploadCutShort instead.
      assert.equal(got.error, reason, `got ${String(got.error)}`);
    }
    // Cancelled before the body is opened: the first read fails.
    const ac = new AbortController();
    ac.abort(new Error('cancelled early'));
    const handled = expectAt('/cancel-early', { opts: { signal: ac.signal }, read: readPieces });
    await put(false, '/cancel-early', randomBytes(100_000)).catch(() => undefined);
    assert.equal((await handled).error?.message, 'cancelled early');
  });

  it('fails a body over the limit', async () => {
    const handled = expectAt('/large', { opts: { maxBytes: 50_000 }, read: readPieces });
    const answer = await put(false, '/large', randomBytes(200_000), { chunked: true, piece: 30_000 }).catch((e: Error) => e);
    const got = await handled;
    assert.ok(got.error instanceof UploadTooLarge, `got ${String(got.error)}`);
    if (!(answer instanceof Error)) assert.equal(answer.status, 400);
  });

  it('ends an open-ended upload with the connection, keeping what arrived (plain and TLS)', async () => {
    for (const tls of [false, true]) {
      const data = randomBytes(300_001);
      const handled = expectAt(`/open-${tls}`, { opts: { openEndedFrom: 2 ** 49 }, read: readIntoOdd });
      const s = await raw(tls);
      s.on('error', () => undefined);
      s.write(head(`/open-${tls}`, 2 ** 50));
      s.write(data);
      await sleep(100);
      s.end();
      const got = await handled;
      assert.equal(got.error, undefined);
      assert.equal(got.endedByClose, true);
      assert.equal(sha(got.bytes), sha(data));
    }
  });
});
