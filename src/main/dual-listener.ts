/**
 * @module
 * One port, both protocols: the first byte of a connection tells a TLS ClientHello
 * (0x16) from plain HTTP, so `xe` with or without `--nossl` and any XenAPI client reach
 * the same listener, as they reach a XenServer host on 443 and 80. TLS is terminated
 * here and both kinds of connection go to one HTTP server; since that server never
 * listens itself, a {@link ConnectionGuard} applies the header, keep-alive and body
 * timeouts and the per-peer connection cap (see docs/security.md).
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
  /** Resolves when every connection has ended, or after `ms`. */
  drain(ms: number): Promise<void>;
  close(): Promise<void>;
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
  const guard = new ConnectionGuard(o.limits ?? limitsFromEnv(), o.log ?? (() => undefined));
  const http = createHttpServer({ keepAliveTimeout: 0, requestTimeout: 0, headersTimeout: 0 }, (req, res) => {
    guard.onRequest(req, res);
    handler(req, res);
  });
  // The guard owns every time limit; Node's would only half-work here.
  http.keepAliveTimeout = 0;
  http.timeout = 0;
  const secureContext = createSecureContext({ cert: tls.cert, key: tls.key });
  const sockets = new Set<Socket>();
  const server = createNetServer({ pauseOnConnect: false }, (socket) => {
    socket.on('error', () => socket.destroy());
    if (!guard.admit(socket)) return;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
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
      http.closeIdleConnections();
    },
    drain: async (ms) => {
      const deadline = Date.now() + ms;
      while (sockets.size > 0 && Date.now() < deadline) {
        http.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 20));
      }
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
