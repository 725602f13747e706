/**
 * @module
 * How one host calls another: JSON-RPC over HTTPS on the peer's API port, with a
 * keep-alive connection pool, a deadline on every call (a host cut off the network must
 * turn into an error in seconds, not after TCP gives up), and a pool-internal session
 * opened with this host's pool credential and renewed when the peer restarted. Peers
 * present self-signed certificates, so, as between xapi hosts before TLS verification,
 * the certificate is not checked; the per-host credential is what authenticates.
 */
import https from 'node:https';
import { XapiCallError } from '../client/xapi-call-error.js';

/** The peer could not be reached or did not answer in time. */
export class PeerUnreachable extends Error {
  constructor(readonly url: string, cause: string) {
    super(`${url}: ${cause}`);
    this.name = 'PeerUnreachable';
  }
}

class StaleConnection extends Error {}

export interface PeerClientOptions {
  /** `https://host:port` of the peer. */
  readonly url: string;
  /**
   * The calling host's uuid and pool credential (read at each login: they change when this
   * host joins a pool); none means this client only makes sessionless or user calls.
   */
  readonly credential: () => { readonly hostUuid: string; readonly token: string } | undefined;
  /** Deadline for calls that give none. */
  readonly timeoutMs?: number;
  /** How long establishing a connection may take. */
  readonly connectTimeoutMs?: number;
}

export interface CallOptions {
  readonly timeoutMs?: number;
}

export class PeerClient {
  readonly url: string;
  #agent = PeerClient.#newAgent();
  readonly #inflight = new Set<(reason: string) => void>();
  readonly #o: PeerClientOptions;
  #session: Promise<string> | undefined;
  #nextId = 1;
  #closed = false;
  /** The local address of the last connection to the peer: the address the peer sees us at. */
  lastLocalAddress: string | undefined;

  static #newAgent(): https.Agent {
    return new https.Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 32 });
  }

  constructor(o: PeerClientOptions) {
    this.#o = o;
    this.url = o.url.replace(/\/+$/, '');
  }

  /** Calls `method` with a pool session prepended to `params`, logging in (again) when needed. */
  async call(method: string, params: readonly unknown[], opts: CallOptions = {}): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.#ensureSession(opts);
      try {
        return await this.rawCall(method, [session, ...params], opts);
      } catch (e) {
        if (attempt === 0 && e instanceof XapiCallError && e.code === 'SESSION_INVALID') {
          this.#session = undefined;
          continue;
        }
        throw e;
      }
    }
  }

  /** Fails every call in flight (the peer was judged dead) and drops pooled connections. */
  failAll(reason: string): void {
    for (const fail of [...this.#inflight]) fail(reason);
    this.#agent.destroy();
    this.#agent = PeerClient.#newAgent();
  }

  /** Forgets the session, so the next call logs in anew. */
  resetSession(): void {
    this.#session = undefined;
  }

  #ensureSession(opts: CallOptions): Promise<string> {
    if (!this.#session) {
      const c = this.#o.credential();
      const p = c
        ? this.rawCall('session.islet_pool_login', [c.hostUuid, c.token], opts).then(String)
        : Promise.reject(new XapiCallError('SESSION_AUTHENTICATION_FAILED', ['', 'this host holds no pool credential']));
      this.#session = p;
      p.catch(() => { if (this.#session === p) this.#session = undefined; });
    }
    return this.#session;
  }

  /** One JSON-RPC v2 request with exactly these arguments. */
  async rawCall(method: string, params: readonly unknown[], opts: CallOptions = {}): Promise<unknown> {
    if (this.#closed) throw new PeerUnreachable(this.url, 'client closed');
    const timeoutMs = opts.timeoutMs ?? this.#o.timeoutMs ?? 10_000;
    const body = JSON.stringify({ jsonrpc: '2.0', method, params, id: this.#nextId++ });
    try {
      return await this.#post(method, body, timeoutMs);
    } catch (e) {
      // The peer closed an idle pooled connection just as it was reused: the request never
      // reached it, so sending it again on a new connection is safe.
      if (!(e instanceof StaleConnection)) throw e;
      return this.#post(method, body, timeoutMs);
    }
  }

  #post(method: string, body: string, timeoutMs: number): Promise<unknown> {
    const u = new URL('/jsonrpc', this.url);
    return new Promise((resolve, reject) => {
      let settled = false;
      let answered = false;
      let connectTimer: NodeJS.Timeout | undefined;
      const done = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(connectTimer);
        this.#inflight.delete(abort);
        f();
      };
      const abort = (reason: string) => {
        done(() => reject(new PeerUnreachable(this.url, reason)));
        req.destroy();
      };
      this.#inflight.add(abort);
      const req = https.request(u, {
        method: 'POST',
        agent: this.#agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'islet-pool' },
      }, (res) => {
        answered = true;
        this.lastLocalAddress = res.socket?.localAddress ?? this.lastLocalAddress;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => done(() => reject(new PeerUnreachable(this.url, e.message))));
        res.on('end', () => done(() => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new Error(`${this.url}: HTTP ${res.statusCode} to ${method}: ${text.slice(0, 200)}`));
            return;
          }
          let reply: { result?: unknown; error?: { message?: unknown; data?: unknown } | null };
          try {
            reply = JSON.parse(text) as typeof reply;
          } catch {
            reject(new Error(`${this.url}: malformed reply to ${method}: ${text.slice(0, 200)}`));
            return;
          }
          if (reply.error) {
            const data = Array.isArray(reply.error.data) ? reply.error.data : [];
            reject(new XapiCallError(typeof reply.error.message === 'string' ? reply.error.message : 'INTERNAL_ERROR', data));
            return;
          }
          resolve(reply.result);
        }));
      });
      const timer = setTimeout(() => abort(`no answer to ${method} within ${timeoutMs} ms`), timeoutMs);
      req.on('socket', (sock) => {
        if (!sock.connecting) return;
        const ms = this.#o.connectTimeoutMs ?? 5000;
        connectTimer = setTimeout(() => abort(`could not connect within ${ms} ms`), ms);
        sock.once('connect', () => clearTimeout(connectTimer));
      });
      req.on('error', (e: NodeJS.ErrnoException) => done(() => {
        const reset = e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.message === 'socket hang up';
        reject(req.reusedSocket && !answered && reset ? new StaleConnection() : new PeerUnreachable(this.url, e.message));
      }));
      req.end(body);
    });
  }

  close(): void {
    this.#closed = true;
    this.#agent.destroy();
  }
}
