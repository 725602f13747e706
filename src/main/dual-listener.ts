/**
 * @module
 * One port, both protocols: the first byte of a connection tells a TLS ClientHello
 * (0x16) from plain HTTP, so `xe` with or without `--nossl` and any XenAPI client reach
 * the same listener, as they reach a XenServer host on 443 and 80. TLS is terminated
 * here and both kinds of connection go to one HTTP server; since that server never
 * listens itself, a {@link ConnectionGuard} applies the header, keep-alive and body
 * timeouts and the per-peer connection cap (see docs/security.md). For the same reason
 * Node's `closeIdleConnections` does nothing here (it only knows the connections of a
 * server that listens), so the listener tracks which connections are between requests
 * itself: a stopping toolstack closes those at once and waits only for answers under way.
 */
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';
import { ConnectionGuard, limitsFromEnv, type ConnectionLimits } from './connection-guard.js';
import type { TlsIdentity } from './tls-identity.js';

export interface DualListener {
  readonly server: Server;
  readonly port: number;
  readonly guard: ConnectionGuard;
  /**
   * Takes no new connections and closes the idle ones; requests under way finish. With an
   * inherited socket, new connections then wait for the next toolstack.
   */
  stopAccepting(): void;
  /**
   * Resolves when every connection has ended, or after `ms`: each connection is closed as
   * soon as it is between requests (its answer under way, if any, sent first).
   */
  drain(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** One accepted connection: its raw socket, answers under way, and bytes read when it last fell idle. */
interface Connection {
  readonly raw: Socket;
  requests: number;
  readWhenIdle: number;
}

export interface DualListenerOptions {
  readonly limits?: ConnectionLimits;
  readonly log?: (msg: string) => void;
  /**
   * An inherited socket to listen on instead of binding `host:port`: `islet pool up` binds
   * each host's port once and hands it to every toolstack it starts, so connections that
   * arrive while a toolstack restarts wait in the queue rather than being refused.
   */
  readonly fd?: number;
}

export async function listenDual(host: string, port: number, tls: TlsIdentity, handler: RequestListener, o: DualListenerOptions = {}): Promise<DualListener> {
  const limits = o.limits ?? limitsFromEnv();
  const guard = new ConnectionGuard(limits, o.log ?? (() => undefined));
  // Clients learn how long an idle connection stays open (the guard closes it then): one that
  // keeps idle sockets longer (fetch keeps them 4 s) would otherwise send its next request on
  // a connection the server is closing, and fail with 'other side closed'. Clients that honour
  // the hint stop reusing a connection a second before the limit (none at all under 2 s).
  const keepAliveHint = `timeout=${Math.max(1, Math.floor(limits.keepAliveMs / 1000))}`;
  const conns = new WeakMap<object, Connection>();
  let draining = false;
  let drained: (() => void) | undefined;
  const http = createHttpServer({ keepAliveTimeout: 0, requestTimeout: 0, headersTimeout: 0 }, (req, res) => {
    const conn = conns.get(req.socket);
    if (conn) {
      conn.requests++;
      res.once('close', () => {
        conn.requests--;
        conn.readWhenIdle = conn.raw.bytesRead;
        if (draining) closeIfIdle(conn);
      });
    }
    guard.onRequest(req, res);
    res.setHeader('Keep-Alive', keepAliveHint);
    handler(req, res);
  });
  // The guard owns every time limit; Node's would only half-work here.
  http.keepAliveTimeout = 0;
  http.timeout = 0;
  const secureContext = createSecureContext({ cert: tls.cert, key: tls.key });
  const sockets = new Set<Socket>();
  /** Between requests: no answer under way and nothing of a next request (or a TLS handshake) read. */
  const closeIfIdle = (c: Connection): void => {
    if (c.requests === 0 && c.raw.bytesRead === c.readWhenIdle) c.raw.destroy();
  };
  // Nagle's algorithm off, as Node's own HTTP server has it: with it on, a TLS answer written
  // while the session tickets sent after the handshake were still unacknowledged waited for
  // the client's delayed ACK, 40 ms, on some 40% of one-call connections (curl, measured).
  const server = createNetServer({ pauseOnConnect: false, noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    if (!guard.admit(socket)) return;
    sockets.add(socket);
    const conn: Connection = { raw: socket, requests: 0, readWhenIdle: 0 };
    conns.set(socket, conn);
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) drained?.();
    });
    // Peek without switching the socket to flowing mode: the TLS socket takes over the raw
    // stream and must still find the ClientHello buffered there.
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (!first) return void socket.destroy();
      socket.unshift(first);
      if (first[0] !== 0x16) {
        guard.bind(socket, socket);
        http.emit('connection', socket);
        return;
      }
      const secure = new TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
      conns.set(secure, conn);
      secure.on('error', () => { secure.destroy(); socket.destroy(); });
      guard.bind(socket, secure);
      http.emit('connection', secure);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (o.fd !== undefined) server.listen({ fd: o.fd }, () => resolve());
    else server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    server,
    guard,
    port: typeof addr === 'object' && addr ? addr.port : port,
    stopAccepting: () => {
      if (server.listening) server.close();
      for (const s of sockets) closeIfIdle(conns.get(s)!);
    },
    drain: async (ms) => {
      draining = true;
      for (const s of sockets) closeIfIdle(conns.get(s)!);
      if (sockets.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        drained = resolve;
        timer = setTimeout(resolve, ms);
      });
      clearTimeout(timer);
      drained = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        guard.stop();
        if (server.listening) server.close(() => resolve());
        else resolve();
        for (const s of sockets) s.destroy();
        http.closeAllConnections();
      }),
  };
}
