/**
 * @module
 * Connection-level abuse: slow headers, idle sockets, half-sent bodies, idle keep-alive and
 * one peer opening connection after connection. Each probe holds its sockets open (or keeps
 * dribbling bytes) and records when the server closes them; the server must close every one
 * within the probe's bound, and must keep serving an honest client meanwhile.
 */
import { connect, type Socket } from 'node:net';
import { RpcClient } from '../rpc-client.js';
import type { SuiteRecorder } from '../suite-result.js';

export interface SocketBounds {
  /** Seconds within which a connection whose headers never finish must be closed. */
  headers: number;
  /** Seconds within which a connection that stalls in its body must be closed. */
  body: number;
  /** Seconds within which an idle keep-alive connection must be closed. */
  keepAlive: number;
  /** Connections one peer opens at once in the cap probe; more than any sane cap. */
  flood: number;
}

interface Watched { socket: Socket; closedAt?: number }

function open(port: number, localAddress: string): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    const w: Watched = { socket };
    socket.on('close', () => { w.closedAt ??= performance.now(); });
    socket.on('end', () => { w.closedAt ??= performance.now(); });
    socket.on('data', () => undefined);
    socket.on('error', () => { w.closedAt ??= performance.now(); });
    socket.once('connect', () => resolve(w));
    socket.once('error', reject);
  });
}

/** Waits until every watched socket is closed or `seconds` passed; returns how many stayed open. */
async function openAfter(ws: Watched[], seconds: number, tick?: () => void): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline && ws.some((w) => w.closedAt === undefined)) {
    tick?.();
    await new Promise((r) => setTimeout(r, 1000));
  }
  return ws.filter((w) => w.closedAt === undefined).length;
}

function destroyAll(ws: Watched[]): void {
  for (const w of ws) w.socket.destroy();
}

async function honestLogin(url: string, password: string): Promise<string> {
  const c = new RpcClient(url, 'json', '127.0.0.1', 15_000);
  try {
    const r = await c.call('session.login_with_password', ['root', password, '1.1', 'abuse-honest']);
    if (!r.ok) return `failed: ${r.transport ?? r.error.join(' ')}`;
    await c.call('session.logout', [r.value]);
    return 'served';
  } finally {
    c.close();
  }
}

export async function socketProbes(rec: SuiteRecorder, port: number, url: string, password: string, b: SocketBounds): Promise<number> {
  let probes = 0;
  const slack = 5;
  const run = async (name: string, count: number, addr: string, send: (w: Watched, i: number) => void, bound: number, tick?: (ws: Watched[]) => void) => {
    probes++;
    const began = performance.now();
    const ws: Watched[] = [];
    try {
      for (let i = 0; i < count; i++) { const w = await open(port, addr); ws.push(w); send(w, i); }
      const honest = await honestLogin(url, password);
      const left = await openAfter(ws, bound + slack, tick && (() => tick(ws)));
      const closed = ws.filter((w) => w.closedAt !== undefined).map((w) => (w.closedAt! - began) / 1000);
      rec.figure(`probe ${name}`, `${count} connections: ${count - left} closed by the server${closed.length ? ` (last after ${Math.max(...closed).toFixed(1)} s)` : ''}, ${left} still open at ${bound + slack} s; honest client ${honest}`);
      rec.check(left === 0, `${name}: ${left} of ${count} connections still open ${bound + slack} s later (bound ${bound} s)`);
      rec.check(honest === 'served', `${name}: an honest client was not served meanwhile (${honest})`);
    } finally {
      destroyAll(ws);
    }
  };

  // All at once, each from its own loopback address: the bounds overlap instead of adding up.
  const body = JSON.stringify({ jsonrpc: '2.0', method: 'session.login_with_password', params: ['nobody', 'x'], id: 1 });
  await Promise.all([
    // Headers that never finish: a header line a second, forever.
    run('slow headers', 5, '127.0.0.21', (w) => w.socket.write('POST /jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\n'), b.headers,
      (ws) => { for (const w of ws) if (w.closedAt === undefined) w.socket.write(`X-Slow-${Math.floor(performance.now())}: a\r\n`); }),
    // Connections that never say a word.
    run('idle sockets', 400, '127.0.0.22', () => undefined, b.headers),
    // Bodies announced at 1 MB that stop after ten bytes.
    run('half-sent bodies', 20, '127.0.0.23', (w) => w.socket.write('POST /jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"method":'), b.body),
    // A complete request, then silence on the kept-alive connection.
    run('idle keep-alive', 20, '127.0.0.24', (w) => w.socket.write(`POST /jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body}`), b.keepAlive),
  ]);

  // One peer opening far more connections than a cap should allow, all silent: the server
  // must refuse or close the excess at once (not after the header timeout) and keep serving others.
  probes++;
  const flood: Watched[] = [];
  try {
    for (let i = 0; i < b.flood; i++) {
      try { flood.push(await open(port, '127.0.0.25')); } catch { break; }
    }
    await new Promise((r) => setTimeout(r, 2000));
    const held = flood.filter((w) => w.closedAt === undefined).length;
    const honest = await honestLogin(url, password);
    rec.figure('probe per-peer cap', `${b.flood} connections from one peer: the server held ${held} after 2 s; honest client ${honest}`);
    rec.check(held < b.flood, `per-peer cap: the server held all ${b.flood} connections from one peer`);
    rec.check(honest === 'served', `per-peer cap: an honest client was not served (${honest})`);
  } finally {
    destroyAll(flood);
  }
  return probes;
}
