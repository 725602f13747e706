/**
 * The API listener's time limits and per-peer cap (issue 10, item 3), on a real server
 * whose limits are set low through the environment: slow headers, idle connections (plain
 * and TLS), a half-sent body and an idle keep-alive connection are all closed, a peer
 * cannot hold more than its share of connections, and a call the server itself takes
 * long over (an event.from long poll) is not cut. The NBD listener caps its peers too.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startIsletOnFreePort, type IsletProcess } from '../helpers/islet-server.js';
import { freePort } from '../helpers/tgtd.js';
import { call, login } from '../helpers/rpc.js';

const LIMIT_MS = 1000;
const CAP = 12;

/** Resolves when `s` closes; fails with `what` if it is still open after `ms`. */
function closes(s: Socket, what: string, ms = 15_000): Promise<void> {
  if (s.destroyed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms);
    s.once('close', () => { clearTimeout(t); resolve(); });
  });
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

describe('listener time limits and per-peer cap', { timeout: 180_000 }, () => {
  let srv: IsletProcess;
  let nbdPort: number;
  const strays: Socket[] = [];
  before(async () => {
    srv = await startIsletOnFreePort((port) => ({
      args: ['--nbd-listen', `127.0.0.1:${nbdPort = port}`],
      env: {
        ISLET_HEADERS_TIMEOUT_MS: String(LIMIT_MS), ISLET_KEEPALIVE_TIMEOUT_MS: String(LIMIT_MS),
        ISLET_BODY_IDLE_TIMEOUT_MS: String(LIMIT_MS), ISLET_MAX_CONNECTIONS_PER_PEER: String(CAP),
      },
    }), freePort);
  });
  after(async () => {
    for (const s of strays) s.destroy();
    await srv?.stop();
  });

  it('closes connections whose headers trickle in, one byte at a time', async () => {
    const socks = await Promise.all([0, 1, 2, 3, 4].map(() => open(srv.port)));
    strays.push(...socks);
    const head = 'POST /jsonrpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: ';
    let i = 0;
    const drip = setInterval(() => { for (const s of socks) if (!s.destroyed) s.write(i++ === 0 ? head : 'a'); }, 200);
    try {
      await Promise.all(socks.map((s, k) => closes(s, `slow-header connection ${k}`)));
    } finally {
      clearInterval(drip);
    }
  });

  it('closes idle connections, plain and TLS, and half-sent bodies', async () => {
    const idle = await open(srv.port);
    const tls = tlsConnect({ host: '127.0.0.1', port: srv.port, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => { tls.once('secureConnect', () => resolve()); tls.once('error', reject); });
    const half = await open(srv.port);
    half.write('POST /jsonrpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"jsonrpc":');
    strays.push(idle, tls, half);
    await Promise.all([closes(idle, 'idle plain connection'), closes(tls, 'idle TLS connection'), closes(half, 'half-sent body')]);
  });

  it('closes a keep-alive connection left idle after a response', async () => {
    const s = await open(srv.port);
    strays.push(s);
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: ['root', srv.rootPassword], id: 1 });
    let reply = '';
    s.on('data', (d) => { reply += d.toString(); });
    s.write(`POST /jsonrpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await closes(s, 'idle keep-alive connection');
    assert.match(reply, /^HTTP\/1\.1 200/, 'the request itself was answered');
    // The answer told the client the idle limit, so that one reusing connections stops in time.
    assert.match(reply, /\r\nkeep-alive: timeout=1\r\n/i, reply.split('\r\n\r\n')[0]);
  });

  it('caps the connections one peer may hold', async () => {
    const socks: Socket[] = [];
    let closed = 0;
    for (let i = 0; i < CAP + 5; i++) {
      const s = await open(srv.port);
      s.on('close', () => closed++);
      socks.push(s);
    }
    strays.push(...socks);
    // The five over the cap are closed at once, long before any time limit.
    const extra = socks.slice(CAP);
    await Promise.all(extra.map((s, k) => closes(s, `connection ${CAP + k} over the cap`, LIMIT_MS * 10)));
    assert.ok(closed >= 5);
    for (const s of socks) s.destroy();
    // Once they are gone, the peer is served again.
    const root = await login(srv.url, srv.rootPassword);
    assert.ok(root);
  });

  it('does not cut a call the server takes long over', async () => {
    const root = await login(srv.url, srv.rootPassword);
    const token = (await call(srv.url, 'event.from', root, ['role'], '', 0.1)).token;
    const t0 = Date.now();
    const r = await call(srv.url, 'event.from', root, ['role'], token, (LIMIT_MS * 3) / 1000);
    assert.ok(Array.isArray(r.events));
    assert.ok(Date.now() - t0 >= LIMIT_MS * 2, 'the long poll really waited past the limits');
  });

  it('caps the NBD connections one peer may hold, and serves it again once they close', async () => {
    /** Resolves with the first bytes the server sends (its NBD greeting), or '' if it closes first. */
    const greeting = (s: Socket) => new Promise<string>((resolve) => {
      const t = setTimeout(() => resolve('(nothing yet)'), 10_000);
      s.once('data', (d: Buffer) => { clearTimeout(t); resolve(d.subarray(0, 8).toString('latin1')); });
      s.once('close', () => { clearTimeout(t); resolve(''); });
    });
    const socks: Socket[] = [];
    const greetings: Array<Promise<string>> = [];
    for (let i = 0; i < CAP + 5; i++) {
      const s = await open(nbdPort);
      greetings.push(greeting(s));
      socks.push(s);
    }
    strays.push(...socks);
    const extra = socks.slice(CAP);
    // Far sooner than the 30 s handshake limit: refused as they arrive.
    await Promise.all(extra.map((s, k) => closes(s, `NBD connection ${CAP + k} over the cap`, LIMIT_MS * 10)));
    const got = await Promise.all(greetings);
    assert.deepEqual(got.slice(0, CAP), Array(CAP).fill('NBDMAGIC'), 'the connections within the cap are greeted');
    assert.deepEqual(got.slice(CAP), Array(5).fill(''), 'those over it get nothing');
    for (const s of socks) s.destroy();
    await Promise.all(socks.map((s, k) => closes(s, `NBD connection ${k}`)));
    // The count follows the connections: once they are gone, the peer is greeted again.
    const again = await new Promise<Socket>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const tryOnce = async (): Promise<void> => {
        const s = await open(nbdPort);
        strays.push(s);
        if ((await greeting(s)) === 'NBDMAGIC') return resolve(s);
        if (Date.now() > deadline) return reject(new Error('the NBD listener still refuses this peer after its connections closed'));
        setTimeout(() => void tryOnce().catch(reject), 100);
      };
      void tryOnce().catch(reject);
    });
    again.destroy();
  });
});
