/**
 * @module
 * One port, both protocols: the first byte of a connection tells a TLS ClientHello
 * (0x16) from plain HTTP, so `xe` with or without `--nossl` and any XenAPI client reach
 * the same listener, as they reach a XenServer host on 443 and 80.
 */
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { TlsIdentity } from './tls-identity.js';

export interface DualListener {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export async function listenDual(host: string, port: number, tls: TlsIdentity, handler: RequestListener): Promise<DualListener> {
  const plain = createHttpServer({ keepAliveTimeout: 65_000 }, handler);
  const secure = createHttpsServer({ cert: tls.cert, key: tls.key, keepAliveTimeout: 65_000 }, handler);
  plain.headersTimeout = secure.headersTimeout = 60_000;
  // Uploads can take long; the request timeout must not cut them.
  plain.requestTimeout = secure.requestTimeout = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer({ pauseOnConnect: false }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // Peek without switching the socket to flowing mode: the TLS server takes over the raw
    // stream and must still find the ClientHello buffered there.
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (!first) return void socket.destroy();
      socket.unshift(first);
      (first[0] === 0x16 ? secure : plain).emit('connection', socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    server,
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        plain.closeAllConnections();
        secure.closeAllConnections?.();
      }),
  };
}
