/**
 * @module
 * Time limits and a per-peer cap for the API listener's connections. The listener hands
 * sockets to its HTTP server itself (one port for TLS and plain HTTP), so Node's own
 * header and request timeouts, which start only with `listen()`, never run; this guard
 * does their work, and more, by looking at each connection once a second:
 *
 * - waiting for a request (a new connection, TLS handshake included): its headers must be
 *   complete within `headersMs`;
 * - idle between requests (keep-alive): the next request must begin within `keepAliveMs`,
 *   then its headers are held to `headersMs` again;
 * - reading a request body: some bytes must arrive every `bodyIdleMs` unless the server
 *   itself paused reading (a slow disk is not the client's fault);
 * - writing a response the client does not read: some bytes must leave every `bodyIdleMs`;
 * - while the server works on a request (a long poll, a migration), there is no limit.
 *
 * A peer (remote address) may hold at most `maxPerPeer` connections; more are closed at
 * once. Timeouts and refusals are counted and logged (at most once a minute per peer).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { PeerCap } from './peer-cap.js';

export interface ConnectionLimits {
  readonly headersMs: number;
  readonly keepAliveMs: number;
  readonly bodyIdleMs: number;
  readonly maxPerPeer: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = { headersMs: 20_000, keepAliveMs: 30_000, bodyIdleMs: 60_000, maxPerPeer: 512 };

function envMs(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = Number(env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

/** The limits, with `ISLET_HEADERS_TIMEOUT_MS`, `…KEEPALIVE…`, `…BODY_IDLE…`, `ISLET_MAX_CONNECTIONS_PER_PEER` applied. */
export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): ConnectionLimits {
  return {
    headersMs: envMs(env, 'ISLET_HEADERS_TIMEOUT_MS', DEFAULT_LIMITS.headersMs),
    keepAliveMs: envMs(env, 'ISLET_KEEPALIVE_TIMEOUT_MS', DEFAULT_LIMITS.keepAliveMs),
    bodyIdleMs: envMs(env, 'ISLET_BODY_IDLE_TIMEOUT_MS', DEFAULT_LIMITS.bodyIdleMs),
    maxPerPeer: Math.floor(envMs(env, 'ISLET_MAX_CONNECTIONS_PER_PEER', DEFAULT_LIMITS.maxPerPeer)),
  };
}

type Phase = 'headers' | 'keepalive' | 'body' | 'working';

interface Conn {
  readonly raw: Socket;
  /** The socket the HTTP server reads (the raw one, or the TLS socket over it). */
  http: Duplex | undefined;
  readonly peer: string;
  phase: Phase;
  since: number;
  read: number;
  written: number;
  req: IncomingMessage | undefined;
  res: ServerResponse | undefined;
}

export interface GuardStats {
  timedOut: number;
  refused: number;
}

export class ConnectionGuard {
  readonly #limits: ConnectionLimits;
  readonly #cap: PeerCap;
  readonly #conns = new Map<Socket, Conn>();
  readonly #byHttp = new WeakMap<object, Conn>();
  readonly #timer: NodeJS.Timeout;
  readonly #stats = { timedOut: 0 };

  constructor(limits: ConnectionLimits, log: (msg: string) => void) {
    this.#limits = limits;
    this.#cap = new PeerCap(limits.maxPerPeer, log);
    const tick = Math.max(50, Math.min(1000, Math.floor(Math.min(limits.headersMs, limits.keepAliveMs, limits.bodyIdleMs) / 4)));
    this.#timer = setInterval(() => this.#sweep(), tick).unref();
  }

  /** A new raw connection: false (and the socket closed) when its peer holds too many already. */
  admit(raw: Socket): boolean {
    if (!this.#cap.admit(raw)) return false;
    const peer = raw.remoteAddress ?? 'unknown';
    const c: Conn = { raw, http: undefined, peer, phase: 'headers', since: Date.now(), read: 0, written: 0, req: undefined, res: undefined };
    this.#conns.set(raw, c);
    raw.once('close', () => this.#conns.delete(raw));
    return true;
  }

  get stats(): GuardStats {
    return { timedOut: this.#stats.timedOut, refused: this.#cap.refused };
  }

  /** The socket the HTTP server will see for `raw` (itself, or its TLS socket). */
  bind(raw: Socket, http: Duplex): void {
    const c = this.#conns.get(raw);
    if (!c) return;
    c.http = http;
    this.#byHttp.set(http, c);
  }

  /** Called for every request as its headers are complete. */
  onRequest(req: IncomingMessage, res: ServerResponse): void {
    const c = this.#byHttp.get(req.socket);
    if (!c) return;
    c.req = req;
    c.res = res;
    this.#enter(c, req.complete ? 'working' : 'body');
    req.once('end', () => { if (c.req === req && c.phase === 'body') this.#enter(c, 'working'); });
    const done = () => {
      if (c.res !== res) return;
      c.req = undefined;
      c.res = undefined;
      this.#enter(c, 'keepalive');
    };
    res.once('finish', done);
    res.once('close', done);
  }

  get connections(): number {
    return this.#conns.size;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #enter(c: Conn, phase: Phase): void {
    c.phase = phase;
    c.since = Date.now();
    c.read = c.raw.bytesRead;
    c.written = c.raw.bytesWritten;
  }

  #sweep(): void {
    const now = Date.now();
    const L = this.#limits;
    for (const c of this.#conns.values()) {
      const age = now - c.since;
      const read = c.raw.bytesRead;
      const written = c.raw.bytesWritten;
      let why: string | undefined;
      switch (c.phase) {
        case 'headers':
          if (age > L.headersMs) why = `no complete request headers within ${L.headersMs} ms`;
          break;
        case 'keepalive':
          if (read !== c.read) this.#enter(c, 'headers');
          else if (age > L.keepAliveMs) why = `idle for ${L.keepAliveMs} ms between requests`;
          break;
        case 'body': {
          const pausedByUs = c.req?.isPaused() === true || c.req?.readableFlowing === false;
          if (read !== c.read || pausedByUs) {
            c.read = read;
            c.since = now;
          } else if (age > L.bodyIdleMs) why = `no request body progress for ${L.bodyIdleMs} ms`;
          break;
        }
        case 'working': {
          const stuck = c.res !== undefined && c.res.writableNeedDrain;
          if (!stuck || written !== c.written) {
            c.written = written;
            c.since = now;
          } else if (age > L.bodyIdleMs) why = `the client read none of the response for ${L.bodyIdleMs} ms`;
          break;
        }
      }
      if (why) {
        this.#stats.timedOut++;
        this.#cap.note(c.peer, `closed a connection from ${c.peer}: ${why}`);
        c.http?.destroy();
        c.raw.destroy();
      }
    }
  }
}
