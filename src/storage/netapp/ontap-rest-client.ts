/**
 * @module
 * A client for ONTAP's REST API (9.8 and later): HTTPS with HTTP Basic auth, JSON bodies,
 * asynchronous operations answered 202 with a job that is polled at
 * `/api/cluster/jobs/{uuid}` until it succeeds or fails, and ONTAP's error shape
 * (`{"error":{message, code, target}}`) turned into `OntapApiError` with the array's own
 * message and code kept.
 *
 * Retries happen only where repeating cannot do a thing twice: reads (GET, job polls) after
 * a dropped connection or a 503, and any request whose connection was refused (it never
 * reached the array). A mutation that may have reached the array is never re-sent.
 *
 * The password lives only in this object's Authorization header; log lines carry the
 * method, path and status, never headers or bodies.
 */
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface OntapConnection {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** SHA-256 fingerprint of the array's certificate (`AA:BB:…`); when set, any other certificate is refused. */
  readonly fingerprint?: string;
}

export type OntapFailureKind = 'http' | 'job' | 'network' | 'auth' | 'certificate' | 'timeout';

export class OntapApiError extends Error {
  constructor(
    readonly kind: OntapFailureKind,
    /** ONTAP's error code (a decimal string), or a node error code for network failures. */
    readonly code: string,
    message: string,
    readonly status = 0,
    readonly target?: string,
  ) {
    super(message);
    this.name = 'OntapApiError';
  }
}

export interface OntapClientOptions {
  readonly log?: (m: string) => void;
  /** Longest wait for one job (default 10 minutes). */
  readonly jobTimeoutMs?: number;
  /** Per-request timeout (default 30 s). */
  readonly requestTimeoutMs?: number;
}

type Json = Record<string, unknown>;
type Query = Record<string, string | number | boolean | undefined>;

const RETRYABLE_READ = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'socket hang up']);

export class OntapRestClient {
  private readonly auth: string;
  private readonly agent: Agent;

  constructor(private readonly conn: OntapConnection, private readonly opts: OntapClientOptions = {}) {
    this.auth = `Basic ${Buffer.from(`${conn.username}:${conn.password}`).toString('base64')}`;
    // One agent per client: its sockets are checked against the pinned fingerprint once,
    // when their handshake ends, and never shared with another client's trust decision.
    this.agent = new Agent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false, maxCachedSessions: 0 });
    const pinned = conn.fingerprint?.toUpperCase();
    if (pinned) {
      const create = this.agent.createConnection.bind(this.agent);
      this.agent.createConnection = ((options: object, cb?: unknown) => {
        const sock = create(options as never, cb as never) as unknown as TLSSocket;
        sock.once('secureConnect', () => {
          const seen = sock.getPeerX509Certificate()?.fingerprint256;
          if (seen?.toUpperCase() !== pinned) {
            sock.destroy(Object.assign(new Error(`the array's certificate ${seen ?? '(none)'} is not the pinned one`), { code: 'CERT_FINGERPRINT' }));
          }
        });
        return sock;
      }) as typeof this.agent.createConnection;
    }
  }

  /** Closes idle kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  get address(): string {
    return `${this.conn.host}:${this.conn.port}`;
  }

  async get<T = Json>(path: string, query: Query = {}): Promise<T> {
    return (await this.call('GET', path, query)).body as T;
  }

  /** Every record of a collection (following `_links.next`). */
  async list<T = Json>(path: string, query: Query = {}): Promise<T[]> {
    const out: T[] = [];
    let next: string | undefined = withQuery(path, query);
    while (next) {
      const body = (await this.call('GET', next, {})).body as { records?: T[]; _links?: { next?: { href?: string } } };
      out.push(...(body.records ?? []));
      next = body._links?.next?.href;
    }
    return out;
  }

  /** POST; a 202 is followed to the end of its job. Returns the final body (records when asked). */
  post(path: string, body: Json, query: Query = {}): Promise<Json> {
    return this.mutate('POST', path, body, query);
  }

  patch(path: string, body: Json, query: Query = {}): Promise<Json> {
    return this.mutate('PATCH', path, body, query);
  }

  delete(path: string, query: Query = {}): Promise<Json> {
    return this.mutate('DELETE', path, undefined, query);
  }

  private async mutate(method: string, path: string, body: Json | undefined, query: Query): Promise<Json> {
    const r = await this.call(method, path, query, body);
    const job = (r.body as { job?: { uuid?: string } }).job;
    if (r.status === 202 && job?.uuid) await this.waitJob(job.uuid);
    return r.body as Json;
  }

  /** Polls a job until it ends; a failed job throws with ONTAP's message and code. */
  async waitJob(uuid: string): Promise<Json> {
    const deadline = Date.now() + (this.opts.jobTimeoutMs ?? 600_000);
    let delay = 25;
    for (;;) {
      const job = (await this.call('GET', `/api/cluster/jobs/${encodeURIComponent(uuid)}`, { fields: 'state,message,code,error,description' })).body as {
        state?: string; message?: string; code?: number; error?: { message?: string; code?: string };
      };
      if (job.state === 'success') return job as Json;
      if (job.state === 'failure') {
        throw new OntapApiError('job', String(job.error?.code ?? job.code ?? ''), job.error?.message ?? job.message ?? 'the job failed');
      }
      if (Date.now() > deadline) throw new OntapApiError('timeout', '', `job ${uuid} did not finish in time (last state ${job.state ?? 'unknown'})`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(1000, delay * 2);
    }
  }

  private async call(method: string, path: string, query: Query, body?: Json): Promise<{ status: number; body: unknown }> {
    const target = withQuery(path, query);
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.once(method, target, body);
        if (r.status === 503 && method === 'GET' && attempt < 3) {
          await new Promise((res) => setTimeout(res, 200 * attempt));
          continue;
        }
        if (r.status >= 400) {
          const err = (r.body as { error?: { message?: string; code?: string; target?: string } } | undefined)?.error;
          const kind: OntapFailureKind = r.status === 401 || r.status === 403 ? 'auth' : 'http';
          throw new OntapApiError(kind, String(err?.code ?? r.status), err?.message ?? `HTTP ${r.status}`, r.status, err?.target);
        }
        return r;
      } catch (e) {
        if (e instanceof OntapApiError) throw e;
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        const neverSent = code === 'ECONNREFUSED';
        if (attempt < 3 && (neverSent || (method === 'GET' && RETRYABLE_READ.has(code)))) {
          await new Promise((res) => setTimeout(res, 200 * attempt));
          continue;
        }
        if (code === 'CERT_FINGERPRINT') throw new OntapApiError('certificate', code, (e as Error).message);
        throw new OntapApiError('network', code, `cannot reach the array at ${this.address}: ${(e as Error).message}`);
      }
    }
  }

  private once(method: string, target: string, body?: Json): Promise<{ status: number; body: unknown }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const options: RequestOptions = {
      host: this.conn.host,
      port: this.conn.port,
      method,
      path: target,
      // Arrays ship self-signed certificates: trust is the pinned fingerprint when one is configured.
      rejectUnauthorized: false,
      agent: this.agent,
      timeout: this.opts.requestTimeoutMs ?? 30_000,
      headers: {
        authorization: this.auth,
        accept: 'application/json',
        ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
      },
    };
    return new Promise((resolve, reject) => {
      const req = httpsRequest(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = {};
          if (text.length > 0) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = { error: { message: text.slice(0, 200), code: String(res.statusCode) } };
            }
          }
          this.opts.log?.(`ontap ${method} ${target.split('?')[0]} -> ${res.statusCode}`);
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

function withQuery(path: string, query: Query): string {
  const qs = Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  if (qs.length === 0) return path;
  return `${path}${path.includes('?') ? '&' : '?'}${qs.join('&')}`;
}
