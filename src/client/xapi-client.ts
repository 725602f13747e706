/**
 * @module
 * A small XenAPI client speaking JSON-RPC v2 (`POST /jsonrpc`) over `http:` or `https:`
 * with one keep-alive agent, plus the HTTP PUT/GET handlers (`/pool_patch_upload`,
 * `/import_raw_vdi`, `/export_raw_vdi`). It is what `xe` and the web console talk
 * through; it knows nothing of the server's internals. A self-signed server certificate is
 * accepted unless a CA is given, as xe does against a XenServer host.
 *
 * @example
 * const c = new XapiClient({ url: 'https://127.0.0.1:8443' });
 * await c.login('root', 'secret');
 * const hosts = await c.call('host.get_all');
 * await c.logout();
 * c.close();
 */
import http from 'node:http';
import type net from 'node:net';
import { https } from './lazy-builtin.js';
import { connectTo, type ConnectToOptions } from './connect-to.js';
import type { Readable } from 'node:stream';
import { XapiCallError } from './xapi-call-error.js';
import { type FileBody, HttpStatusError, type PutOptions, type PutResult, httpGet, httpPut } from './http-transfer.js';
import { decodeTaskResult } from './task-result.js';
import { socketDownload, type SocketDownloadOptions } from './socket-download.js';
import { loopbackAddress, nextLoopbackAddress } from './loopback-name.js';

export interface XapiClientOptions {
  /** `https://host[:port]` or `http://host[:port]`; a path is ignored. */
  readonly url: string | URL;
  /** Verify the server certificate. Defaults to true when `ca` is given, else false. */
  readonly rejectUnauthorized?: boolean;
  /** PEM of the CA that signed the server certificate. */
  readonly ca?: string | Buffer;
  /** Receives one line per call and reply, for `xe --debug`. */
  readonly debug?: (line: string) => void;
}

export interface LoginOptions {
  readonly version?: string;
  readonly originator?: string;
}

/**
 * Longest single wait on a task's events, in seconds: a safety net only (the task is read
 * again after it), since any change of the task ends the wait at once.
 */
const TASK_WAIT_S = 5;

/** A user's name and password, for a request that carries them rather than a session. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** The XenAPI error a handler's refusal names, when it answered with XenAPI's failure object. */
function xapiErrorOf(e: HttpStatusError): XapiCallError | undefined {
  try {
    const list = (JSON.parse(e.body) as { ErrorDescription?: unknown }).ErrorDescription;
    return Array.isArray(list) && typeof list[0] === 'string' ? XapiCallError.fromList(list) : undefined;
  } catch {
    return undefined;
  }
}

/** Calls that take no session as their first argument. */
function isSessionless(method: string): boolean {
  return /^session\.(login_with_password|slave_local_login_with_password|slave_login|login_with_password)$/.test(method)
    || method.startsWith('system.');
}

export class XapiClient {
  #base: URL;
  #agent: http.Agent;
  /** The address connected to instead of resolving the URL's name (a loopback name); see loopback-name.ts. */
  #address: string | undefined;
  #session: string | undefined;
  /** A connection opened ahead for the next upload (see prepareUpload), and where it goes. */
  #readyUpload: { origin: string; socket: Promise<net.Socket> } | undefined;
  #nextId = 1;
  readonly #debug: ((line: string) => void) | undefined;
  readonly #opts: XapiClientOptions;

  constructor(opts: XapiClientOptions) {
    const u = new URL(String(opts.url));
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported URL scheme ${u.protocol}`);
    this.#base = new URL(`${u.protocol}//${u.host}`);
    this.#debug = opts.debug;
    this.#opts = opts;
    this.#address = loopbackAddress(this.#base.hostname);
    this.#agent = this.#makeAgent();
  }

  /**
   * The TLS settings of every connection. When the certificate is not verified, the
   * connection is given an empty list of CAs rather than none: with none, Node parses its
   * whole store of root certificates (some 15 ms of CPU) on the first connection of the
   * process, only for them to go unused.
   */
  #tlsOptions(): { rejectUnauthorized: boolean; ca?: string | Buffer | never[] } {
    const verify = this.#opts.rejectUnauthorized ?? this.#opts.ca !== undefined;
    const ca = this.#opts.ca ?? (verify ? undefined : []);
    return { rejectUnauthorized: verify, ...(ca !== undefined ? { ca } : {}) };
  }

  #makeAgent(): http.Agent {
    const { rejectUnauthorized } = this.#tlsOptions();
    // No SNI for a loopback name unless the certificate is checked against it: an empty
    // servername also spares the agent its own pattern check of the name (loopback-name.ts).
    const agent = this.#base.protocol === 'https:'
      ? new (https().Agent)({ keepAlive: true, ...this.#tlsOptions(), ...(this.#address !== undefined && !rejectUnauthorized ? { servername: '' } : {}) })
      : new http.Agent({ keepAlive: true });
    if (this.#address !== undefined) {
      // Only connections to the loopback name: a redirect may lead to another host.
      const create = agent.createConnection.bind(agent) as (o: { host?: string }, cb?: unknown) => ReturnType<http.Agent['createConnection']>;
      agent.createConnection = ((o: { host?: string }, cb?: unknown) =>
        create(o.host !== undefined && loopbackAddress(o.host) !== undefined ? { ...o, host: this.#address } : o, cb)) as http.Agent['createConnection'];
    }
    return agent;
  }

  /** Where calls go now; changes when login is redirected to the master. */
  get url(): string {
    return this.#base.origin;
  }

  get sessionId(): string | undefined {
    return this.#session;
  }

  /** Adopts a session obtained elsewhere (another client, a test fixture). */
  useSession(ref: string | undefined): void {
    this.#session = ref;
  }

  /**
   * Calls `method`. When logged in, the session is passed as the first argument of every
   * call except the logins, as XenAPI expects, so callers give only the real arguments.
   */
  call(method: string, ...params: unknown[]): Promise<unknown> {
    const args = this.#session !== undefined && !isSessionless(method) ? [this.#session, ...params] : params;
    return this.rawCall(method, args);
  }

  /** One JSON-RPC v2 request with exactly the arguments given. */
  async rawCall(method: string, params: readonly unknown[]): Promise<unknown> {
    const id = this.#nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', method, params, id });
    this.#debug?.(`call ${method} ${redact(method, params)}`);
    const { status, text } = await this.#postTryingLoopbacks('/jsonrpc', body);
    if (status !== 200) throw new Error(`HTTP ${status} from ${this.#base.origin}/jsonrpc: ${text.slice(0, 200)}`);
    let reply: { result?: unknown; error?: unknown };
    try {
      reply = JSON.parse(text) as typeof reply;
    } catch {
      throw new Error(`malformed JSON-RPC reply from ${this.#base.origin}: ${text.slice(0, 200)}`);
    }
    if (reply.error !== undefined && reply.error !== null) {
      const err = toCallError(reply.error);
      this.#debug?.(`fail ${method} ${err.message}`);
      throw err;
    }
    this.#debug?.(`done ${method}`);
    return reply.result;
  }

  /**
   * Logs in. A pool member answers `HOST_IS_SLAVE [master]`; the client then re-targets
   * itself to the master, once, keeping scheme and port unless the address names a port.
   */
  async login(user: string, password: string, opts: LoginOptions = {}): Promise<string> {
    const args: unknown[] = [user, password];
    if (opts.version !== undefined || opts.originator !== undefined) args.push(opts.version ?? '1.1', opts.originator ?? '');
    let ref: unknown;
    try {
      ref = await this.rawCall('session.login_with_password', args);
    } catch (e) {
      if (!(e instanceof XapiCallError) || e.code !== 'HOST_IS_SLAVE' || !e.params[0]) throw e;
      const next = masterUrl(this.#base, e.params[0]);
      const address = loopbackAddress(next.hostname);
      if (next.protocol !== this.#base.protocol || (address === undefined) !== (this.#address === undefined)) {
        this.#agent.destroy();
        this.#base = next;
        this.#address = address;
        this.#agent = this.#makeAgent();
      }
      this.#base = next;
      ref = await this.rawCall('session.login_with_password', args);
    }
    this.#session = String(ref);
    return this.#session;
  }

  async logout(): Promise<void> {
    if (this.#session === undefined) return;
    try {
      await this.call('session.logout');
    } finally {
      this.#session = undefined;
    }
  }

  /**
   * Ends the session without waiting for the server's answer, as a command does on its way
   * out: resolves once the request has been handed to the operating system (or could not
   * be, or after `maxWaitMs` if it cannot even be sent), so a slow or unresponsive server
   * never holds up the exit. The answer, if any, is ignored; `close()` may follow at once.
   */
  async logoutWithoutWaiting(maxWaitMs = 2000): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    this.#session = undefined;
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'session.logout', params: [session], id: this.#nextId++ });
    this.#debug?.('call session.logout (not waiting for the answer)');
    const u = new URL('/jsonrpc', this.#base);
    const mod = u.protocol === 'https:' ? https() : http;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, maxWaitMs);
      const sent = () => { clearTimeout(timer); resolve(); };
      const req = mod.request(u, {
        method: 'POST',
        agent: this.#agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'User-Agent': 'islet-xapi-client' },
      }, (res) => res.resume());
      // Errors after the request left (the socket closed by close()) are expected and ignored.
      req.on('error', sent);
      req.on('finish', sent);
      req.end(body);
    });
  }

  /**
   * Runs `Async.<method>` and waits for its task: resolves with the task's result (decoded
   * from the XML-RPC fragment the server stores), rejects with the task's error.
   */
  async callAsync(method: string, ...params: unknown[]): Promise<unknown> {
    const task = String(await this.call(`Async.${method}`, ...params));
    try {
      return await this.waitTask(task);
    } finally {
      await this.call('task.destroy', task).catch(() => undefined);
    }
  }

  /**
   * Waits for a task to leave `pending`, then returns its decoded result or throws. Between
   * reads of the task it waits on `event.from` for that one task, so an ending is seen as
   * soon as the server records it; a timer's back-off (20 ms doubling to 500 ms) would see
   * a task that took 330 ms only at 620 ms. A server that refuses the event call is polled
   * with that back-off instead.
   */
  async waitTask(task: string): Promise<unknown> {
    let token: string | undefined;
    let polling = false;
    let delay = 20;
    for (;;) {
      const rec = (await this.call('task.get_record', task)) as Record<string, unknown>;
      const status = String(rec.status);
      if (status === 'success') return decodeTaskResult(String(rec.result ?? ''));
      if (status === 'failure') throw XapiCallError.fromList((rec.error_info as unknown[] | undefined) ?? []);
      if (status === 'cancelled') throw new XapiCallError('TASK_CANCELLED', [task]);
      if (!polling) {
        try {
          // The first call only takes a token (an empty one answers at once); a change after
          // it, even one made before this read, ends the next wait at once.
          const batch = (await this.call('event.from', [`task/${task}`], token ?? '', token === undefined ? 0 : TASK_WAIT_S)) as { token?: unknown };
          if (typeof batch?.token !== 'string') throw new Error('event.from answered without a token');
          token = batch.token;
          continue;
        } catch {
          polling = true;
        }
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
  }

  /**
   * Starts opening the connection the next `putFile` will use, so that its TLS handshake
   * runs while the calls before the upload (finding the disk, creating the task) wait for
   * their answers. Each upload has a connection of its own: the server closes it after the
   * answer, and the calls after the upload keep the one they were already using.
   */
  prepareUpload(): void {
    if (this.#readyUpload) return;
    const socket = this.#openSocket(this.#base);
    socket.catch(() => undefined); // reported by the upload that takes it, if any does
    this.#readyUpload = { origin: this.#base.origin, socket };
  }

  /**
   * HTTP PUT to a handler; `session_id` is added to the query when logged in. With
   * `credentials` the request carries them instead (HTTP Basic), and asks for a refusal as
   * XenAPI's error list, which it is thrown as: an upload that needs no session and no call.
   */
  async putFile(path: string, query: Record<string, string>, body: FileBody, opts: PutOptions & { credentials?: Credentials } = {}): Promise<PutResult> {
    const { credentials, ...put } = opts;
    const url = this.#target(path, query);
    if (!credentials) return httpPut(url, (u) => this.#uploadConnection(u), body, put);
    const basic = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
    try {
      return await httpPut(url, (u) => this.#uploadConnection(u), body, { ...put, headers: { ...put.headers, Authorization: `Basic ${basic}`, Accept: 'application/json' } });
    } catch (e) {
      throw (e instanceof HttpStatusError ? xapiErrorOf(e) : undefined) ?? e;
    }
  }

  /** The connection opened ahead when it goes to `u`'s origin, else a new one. */
  #uploadConnection(u: URL): Promise<net.Socket> {
    const ready = this.#readyUpload;
    this.#readyUpload = undefined;
    // One that has closed meanwhile (an idle connection the server gave up on) is replaced.
    if (ready?.origin === u.origin) return ready.socket.then((s) => (s.destroyed ? this.#openSocket(u) : s));
    ready?.socket.then((s) => s.destroy(), () => undefined);
    return this.#openSocket(u);
  }

  /** A connection to `u`'s host with this client's settings, resolved once it can take a request. */
  #openSocket(u: URL): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = connectTo(u, this.#connectOptions(), () => resolve(socket));
      socket.once('error', reject);
    });
  }

  /** This client's TLS settings and the loopback address it found answering, for connectTo. */
  #connectOptions(): ConnectToOptions {
    return { tls: this.#tlsOptions(), ...(this.#address !== undefined ? { address: this.#address } : {}) };
  }

  /** HTTP GET from a handler: the response body as a stream, after a 200. */
  getFile(path: string, query: Record<string, string>): Promise<Readable> {
    return httpGet(this.#target(path, query), this.#agent);
  }

  /**
   * Writes the body of a GET on a handler into the file `filename` (reading the socket
   * straight into large write buffers; see socketDownload), with this client's TLS settings.
   * Resolves with the bytes written.
   */
  download(path: string, query: Record<string, string>, filename: string, opts: Omit<SocketDownloadOptions, 'tls'> = {}): Promise<number> {
    return socketDownload(this.#target(path, query), filename, { ...opts, ...this.#connectOptions() });
  }

  /** The URL of a handler with the session and `query`, for transfers made outside this client. */
  fileUrl(path: string, query: Record<string, string>): URL {
    return this.#target(path, query);
  }

  /** Drops the pooled connections (and one opened ahead for an upload) so the process can exit. */
  close(): void {
    this.#agent.destroy();
    this.#readyUpload?.socket.then((s) => s.destroy(), () => undefined);
    this.#readyUpload = undefined;
  }

  #target(path: string, query: Record<string, string>): URL {
    const u = new URL(path, this.#base);
    const q = { ...query };
    if (this.#session !== undefined && q.session_id === undefined) q.session_id = this.#session;
    for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
    return u;
  }

  /**
   * `#post`, and when a loopback name's address refuses the connection, again at the next
   * loopback address (nothing was sent, so nothing is repeated).
   */
  async #postTryingLoopbacks(path: string, body: string): Promise<{ status: number; text: string }> {
    for (;;) {
      try {
        return await this.#post(path, body);
      } catch (e) {
        const next = this.#address !== undefined && (e as NodeJS.ErrnoException).code === 'ECONNREFUSED'
          ? nextLoopbackAddress(this.#address) : undefined;
        if (next === undefined) throw e;
        this.#address = next;
      }
    }
  }

  #post(path: string, body: string): Promise<{ status: number; text: string }> {
    const u = new URL(path, this.#base);
    const mod = u.protocol === 'https:' ? https() : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(u, {
        method: 'POST',
        agent: this.#agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'User-Agent': 'islet-xapi-client' },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** JSON-RPC v2 `{code, message: CODE, data: [...]}` or v1 `[CODE, ...]`. */
function toCallError(error: unknown): XapiCallError {
  if (Array.isArray(error)) return XapiCallError.fromList(error);
  if (typeof error === 'object' && error !== null) {
    const e = error as { message?: unknown; data?: unknown };
    const data = Array.isArray(e.data) ? e.data : e.data === undefined ? [] : [e.data];
    return new XapiCallError(typeof e.message === 'string' ? e.message : 'INTERNAL_ERROR', data);
  }
  return new XapiCallError('INTERNAL_ERROR', [String(error)]);
}

/** The master's URL from a HOST_IS_SLAVE address: `a.b.c.d`, `host:port`, `[v6]:port` or a URL. */
export function masterUrl(current: URL, address: string): URL {
  if (/^https?:\/\//.test(address)) return new URL(new URL(address).origin);
  const u = new URL(current.origin);
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  const hp = /^([^:]+):(\d+)$/.exec(address);
  if (v6) {
    u.hostname = `[${v6[1]}]`;
    if (v6[2]) u.port = v6[2];
  } else if (hp) {
    u.hostname = hp[1]!;
    u.port = hp[2]!;
  } else if (address.includes(':')) {
    u.hostname = `[${address}]`;
  } else {
    u.hostname = address;
  }
  return u;
}

/** Debug lines never show passwords. */
function redact(method: string, params: readonly unknown[]): string {
  const shown = method.startsWith('session.') && method.includes('login') ? [params[0], '********'] : params;
  const s = JSON.stringify(shown);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}
