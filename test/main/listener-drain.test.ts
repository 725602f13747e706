/**
 * A stopping toolstack's API listener (plain and TLS on one port): connections between
 * requests are closed at once, an answer under way is sent whole before its connection
 * closes, a connection that has begun its next request is not cut, and `drain` ends as soon
 * as the last connection has gone rather than at its cap. (The HTTP server behind the
 * listener never listens itself, so Node's own closeIdleConnections does nothing there:
 * with it, idle keep-alive connections of members and clients held every stop to the cap.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { listenDual, type DualListener } from '../../src/main/dual-listener.js';
import { loadOrCreateTlsIdentity, type TlsIdentity } from '../../src/main/tls-identity.js';

const DRAIN_CAP_MS = 120_000;
const WAIT_MS = 15_000;

/** Resolves when `s` closes; fails naming `what` if it is still open after WAIT_MS. */
function closes(s: Socket, what: string): Promise<void> {
  if (s.destroyed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: still open after ${WAIT_MS} ms`)), WAIT_MS);
    s.once('close', () => { clearTimeout(t); resolve(); });
  });
}

/** `p`, or a failure naming `what` after WAIT_MS. */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: not within ${WAIT_MS} ms`)), WAIT_MS);
  })]).finally(() => clearTimeout(t));
}

/** A raw HTTP/1.1 client on one socket: sends requests, reads whole answers (content-length bodies). */
class RawClient {
  #buf = '';
  #waiting: (() => void) | undefined;
  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => { this.#buf += d; this.#waiting?.(); });
    socket.on('close', () => this.#waiting?.());
  }

  static open(port: number, tls: boolean): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s: Socket = tls
        ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(new RawClient(s)))
        : netConnect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  send(path: string): void {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  }

  /** The next whole answer: status, headers and body. */
  async answer(what: string): Promise<{ status: number; headers: string; body: string }> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = this.#buf.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (this.#buf.length >= end + 4 + length) {
          const body = this.#buf.slice(end + 4, end + 4 + length);
          this.#buf = this.#buf.slice(end + 4 + length);
          return { status: Number(head.split(' ')[1]), headers: head, body };
        }
      }
      if (this.socket.destroyed) throw new Error(`${what}: the connection closed before the whole answer`);
      if (Date.now() > deadline) throw new Error(`${what}: no whole answer within ${WAIT_MS} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.#waiting = () => { clearTimeout(t); r(); };
      });
      this.#waiting = undefined;
    }
  }
}

describe('API listener of a stopping toolstack', { timeout: 120_000 }, () => {
  let dir: string;
  let tls: TlsIdentity;
  const opened: RawClient[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'islet-listener-drain-'));
    tls = await loadOrCreateTlsIdentity(dir, { hostName: 'drain-test', addresses: ['127.0.0.1'] });
  });
  after(async () => {
    for (const c of opened) c.socket.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  /** A listener whose `/slow` answers only once released; every other path answers at once. */
  async function listener(): Promise<{ l: DualListener; release: () => void; slowArrived: Promise<void> }> {
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    let arrived!: () => void;
    const slowArrived = new Promise<void>((r) => { arrived = r; });
    const l = await listenDual('127.0.0.1', 0, tls, (req, res) => {
      const answer = () => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 4 }).end(req.url === '/slow' ? 'slow' : 'fast');
      if (req.url !== '/slow') return answer();
      arrived();
      void released.then(answer);
    });
    return { l, release, slowArrived };
  }

  async function client(port: number, tls: boolean): Promise<RawClient> {
    const c = await RawClient.open(port, tls);
    opened.push(c);
    return c;
  }

  it('closes keep-alive connections between requests at once, plain and TLS, and drain ends with the last', async () => {
    const { l } = await listener();
    try {
      const plain = await client(l.port, false);
      const secure = await client(l.port, true);
      for (const [c, what] of [[plain, 'plain'], [secure, 'TLS']] as const) {
        c.send('/');
        const a = await c.answer(`${what} request`);
        assert.equal(a.body, 'fast');
        assert.doesNotMatch(a.headers, /connection: close/i, 'a running listener keeps connections alive');
      }
      assert.ok(!plain.socket.destroyed && !secure.socket.destroyed);
      l.stopAccepting();
      await closes(plain.socket, 'an idle plain keep-alive connection after stopAccepting');
      await closes(secure.socket, 'an idle TLS keep-alive connection after stopAccepting');
      await within(l.drain(DRAIN_CAP_MS), 'drain with no connection left');
    } finally {
      await l.close();
    }
  });

  it('sends an answer under way whole before closing its connection; drain ends when it is sent', async () => {
    const { l, release, slowArrived } = await listener();
    try {
      const busy = await client(l.port, true);
      const idle = await client(l.port, false);
      idle.send('/');
      await idle.answer('request on the idle connection');
      busy.send('/slow');
      await within(slowArrived, 'the slow request reaching the handler');
      l.stopAccepting();
      let drained = false;
      const drain = l.drain(DRAIN_CAP_MS).then(() => { drained = true; });
      await closes(idle.socket, 'the idle connection while another answer is under way');
      assert.equal(busy.socket.destroyed, false, 'the connection whose answer is under way was cut');
      assert.equal(drained, false, 'drain ended while an answer was under way');
      release();
      const a = await busy.answer('the answer under way');
      assert.equal(a.status, 200);
      assert.equal(a.body, 'slow');
      await closes(busy.socket, 'the busy connection once its answer was sent');
      await within(drain, 'drain after the last answer');
    } finally {
      await l.close();
    }
  });

  it('does not cut a connection that has begun its next request: it gets its answer, then closes', async () => {
    const { l } = await listener();
    try {
      const c = await client(l.port, false);
      c.send('/');
      await c.answer('first request');
      c.socket.write('GET /second HTTP/1.1\r\nHo');
      // The listener has read the start of the next request once the server sees its bytes;
      // wait for that through a request on another connection, answered after them.
      const other = await client(l.port, false);
      other.send('/');
      await other.answer('request on another connection');
      l.stopAccepting();
      const drain = l.drain(DRAIN_CAP_MS);
      await closes(other.socket, 'the other, idle connection');
      assert.equal(c.socket.destroyed, false, 'a connection with half a request read was cut');
      c.socket.write('st: x\r\n\r\n');
      const a = await c.answer('the completed request');
      assert.equal(a.body, 'fast');
      await closes(c.socket, 'the connection once its answer was sent');
      await within(drain, 'drain after the last answer');
    } finally {
      await l.close();
    }
  });
});
