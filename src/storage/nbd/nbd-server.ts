/**
 * @module
 * An NBD server for Islet's virtual disks: a TCP listener whose connections go through
 * the fixed newstyle handshake (`handshake.ts`) and then serve one export each
 * (`transmission.ts`). Exports are looked up by name through the toolstack's resolver,
 * which decides what a name (VDI plus authorising token) grants; the server only speaks
 * the protocol. A misbehaving client loses its own connection and nothing else.
 *
 * @example
 * const server = new NbdServer({ resolveExport: async (name) => lookup(name) });
 * const { port } = await server.listen(0, '127.0.0.1');
 * // nbdinfo nbd://127.0.0.1:PORT/NAME
 * await server.close();
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContext } from 'node:tls';
import { negotiate } from './handshake.js';
import { NBD_DEFAULTS, type NbdServerOptions } from './nbd-options.js';
import { SocketInput } from './socket-input.js';
import { Transmission } from './transmission.js';

interface Connection {
  /** Whichever socket is current: the accepted one's steered rebuild, or a TLS wrapper. */
  socket: Duplex;
  transmission: Transmission | undefined;
  done: Promise<void>;
}

/** How long a closing server waits for in-flight requests before cutting connections. */
const CLOSE_GRACE_MS = 5000;

export class NbdServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly secure: SecureContext | undefined;
  private closing = false;

  constructor(private readonly opts: NbdServerOptions) {
    this.secure = opts.tls
      ? createSecureContext({ cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, minVersion: 'TLSv1.2' })
      : undefined;
    if (opts.tlsRequired && !this.secure) throw new Error('tlsRequired needs tls.cert and tls.key');
    // Paused on connect so that the socket can be rebuilt as a steered one before any read;
    // half-open so that a client that shuts its side after its last request still gets replies.
    this.server = createServer({ noDelay: true, pauseOnConnect: true, allowHalfOpen: true }, (s) => this.accept(s));
    this.server.on('error', (e) => this.report(e, '-'));
  }

  /** Starts listening; port 0 picks a free one. */
  listen(port = 0, host = '127.0.0.1'): Promise<{ port: number; host: string }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as AddressInfo;
        resolve({ port: a.port, host: a.address });
      });
    });
  }

  /** Number of open client connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, lets every connection finish the requests it has in flight (up to a
   * grace period), closes them and releases their exports.
   */
  async close(): Promise<void> {
    this.closing = true;
    const listening = new Promise<void>((r) => this.server.close(() => r()));
    for (const c of this.connections) {
      if (c.transmission) c.transmission.stop();
      else c.socket.destroy();
    }
    const all = Promise.all([...this.connections].map((c) => c.done));
    const timer = setTimeout(() => {
      for (const c of this.connections) c.socket.destroy();
    }, CLOSE_GRACE_MS);
    await all;
    clearTimeout(timer);
    await listening;
  }

  private accept(accepted: Socket): void {
    const peer = `${accepted.remoteAddress}:${accepted.remotePort}`;
    accepted.on('error', () => undefined); // failures surface as 'close'; never crash the process
    if (this.closing) {
      accepted.destroy();
      return;
    }
    const release = this.opts.admit ? this.opts.admit(accepted.remoteAddress ?? 'unknown') : () => undefined;
    if (!release) {
      accepted.destroy();
      return;
    }
    accepted.setKeepAlive(true, 60_000);
    const input = this.opts.zeroCopyReceive === false ? SocketInput.plain(accepted) : SocketInput.steer(accepted);
    const socket = input.socket;
    socket.on('error', () => undefined);
    const conn: Connection = { socket, transmission: undefined, done: Promise.resolve() };
    this.connections.add(conn);
    conn.done = this.serve(conn, input, peer)
      .catch((e: unknown) => this.report(e, peer))
      .finally(() => {
        conn.socket.destroy();
        socket.destroy();
        this.connections.delete(conn);
        release();
      });
  }

  private async serve(conn: Connection, input: SocketInput, peer: string): Promise<void> {
    const session = { input };
    const timeout = this.opts.handshakeTimeoutMs ?? NBD_DEFAULTS.handshakeTimeoutMs;
    const timer = setTimeout(() => session.input.socket.destroy(), timeout);
    let n;
    try {
      n = await negotiate(session, peer, this.opts, this.secure);
    } catch {
      n = undefined; // the peer went away or broke TLS: nothing to answer
    } finally {
      clearTimeout(timer);
      conn.socket = session.input.socket;
    }
    if (!n) {
      await endGently(session.input);
      return;
    }
    if (this.closing) {
      await n.handle.release().catch((e: unknown) => this.report(e, peer, n.name));
      return;
    }
    const t = new Transmission(n.input, n.leftover, {
      device: n.handle.device,
      readOnly: n.readOnly,
      structured: n.structured,
      metaContextId: n.metaContextId,
      maxInFlightBytes: this.opts.maxInFlightBytes ?? NBD_DEFAULTS.maxInFlightBytes,
      maxInFlightRequests: this.opts.maxInFlightRequests ?? NBD_DEFAULTS.maxInFlightRequests,
      onError: (e) => this.report(e, peer, n.name),
    });
    conn.transmission = t;
    try {
      await t.serve();
    } finally {
      await n.handle.release().catch((e: unknown) => this.report(e, peer, n.name));
    }
  }

  private report(e: unknown, peer: string, name?: string): void {
    try {
      this.opts.onError?.(e, { peer, export: name });
    } catch {
      // a failing logger must not take the server down
    }
  }
}

/** Half-closes after flushing what we wrote (an ABORT's ACK), then cuts a peer that lingers. */
function endGently(input: SocketInput): Promise<void> {
  const s = input.socket;
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    const t = setTimeout(() => s.destroy(), 2000);
    s.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    // Drain whatever the peer still sends, so that its FIN reaches us.
    input.attach({ nextBuffer: () => input.stagingBuffer, onData: () => undefined });
    s.end();
  });
}
