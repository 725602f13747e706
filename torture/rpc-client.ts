/**
 * @module
 * The load suite's XenAPI client: one keep-alive connection per client (its own agent, so
 * 200 clients really are 200 sockets), speaking JSON-RPC v2 or XML-RPC, timing each call.
 * Failures come back as values, never thrown: the suite counts them. A call sent on a
 * reused keep-alive socket the server closed at that very moment is retried once, as Node's
 * documentation recommends; that race is HTTP's, not the server's.
 */
import { Agent, request } from 'node:http';
import { escapeXml } from '../src/api/wire/xml-writer.js';
import { parseXmlRpcResponse } from '../src/api/wire/xmlrpc.js';

export type Protocol = 'json' | 'xml';
export type CallOutcome =
  | { readonly ok: true; readonly value: unknown; readonly ms: number }
  | { readonly ok: false; readonly error: string[]; readonly transport?: string; readonly ms: number };

/** An XML-RPC `<value>` for the plain values the suite sends. */
function xmlValue(v: unknown): string {
  if (typeof v === 'string') return `<value>${escapeXml(v)}</value>`;
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (typeof v === 'number') return Number.isInteger(v) ? `<value><int>${v}</int></value>` : `<value><double>${v}</double></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map(xmlValue).join('')}</data></array></value>`;
  if (v && typeof v === 'object') {
    return `<value><struct>${Object.entries(v).map(([k, x]) => `<member><name>${escapeXml(k)}</name>${xmlValue(x)}</member>`).join('')}</struct></value>`;
  }
  throw new Error(`cannot encode ${String(v)}`);
}

export function xmlRpcCallBody(method: string, params: readonly unknown[]): string {
  return `<?xml version="1.0"?><methodCall><methodName>${escapeXml(method)}</methodName><params>${
    params.map((p) => `<param>${xmlValue(p)}</param>`).join('')}</params></methodCall>`;
}

export class RpcClient {
  readonly #agent: Agent;
  readonly #url: URL;
  #id = 0;

  constructor(url: string, readonly protocol: Protocol, localAddress?: string, readonly timeoutMs = 60_000) {
    this.#url = new URL(url);
    this.#agent = new Agent({ keepAlive: true, maxSockets: 1, ...(localAddress ? { localAddress } : {}) });
  }

  async call(method: string, params: readonly unknown[]): Promise<CallOutcome> {
    const start = performance.now();
    const body = this.protocol === 'json'
      ? JSON.stringify({ jsonrpc: '2.0', method, params, id: ++this.#id })
      : xmlRpcCallBody(method, params);
    let r = await this.#post(body);
    if ('retry' in r) r = await this.#post(body);
    const ms = performance.now() - start;
    if ('transport' in r) return { ok: false, error: [], transport: r.transport, ms };
    if ('retry' in r) return { ok: false, error: [], transport: r.retry, ms };
    return { ...this.#decode(r.status, r.text), ms } as CallOutcome;
  }

  #decode(status: number, text: string): { ok: true; value: unknown } | { ok: false; error: string[]; transport?: string } {
    if (status !== 200) return { ok: false, error: [], transport: `HTTP ${status}: ${text.slice(0, 200)}` };
    try {
      if (this.protocol === 'json') {
        const j = JSON.parse(text) as { result?: unknown; error?: { message?: unknown; data?: unknown } };
        if (j.error) return { ok: false, error: [String(j.error.message), ...((j.error.data as unknown[] | undefined) ?? []).map(String)] };
        return { ok: true, value: j.result };
      }
      const x = parseXmlRpcResponse(text);
      if (x.kind === 'success') return { ok: true, value: x.value };
      if (x.kind === 'failure') return { ok: false, error: (x.errorDescription as unknown[]).map(String) };
      return { ok: false, error: [], transport: `XML-RPC fault ${String(x.code)} ${String(x.message)}` };
    } catch (e) {
      return { ok: false, error: [], transport: `undecodable answer: ${(e as Error).message}` };
    }
  }

  #post(body: string): Promise<{ status: number; text: string } | { transport: string } | { retry: string }> {
    const path = this.protocol === 'json' ? '/jsonrpc' : '/';
    const type = this.protocol === 'json' ? 'application/json' : 'text/xml';
    return new Promise((resolve) => {
      const req = request({
        host: this.#url.hostname, port: this.#url.port, path, method: 'POST', agent: this.#agent,
        headers: { 'content-type': type, 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => resolve({ transport: `response: ${e.message}` }));
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (req.reusedSocket && e.code === 'ECONNRESET') resolve({ retry: `${e.code} on a reused socket, twice` });
        else resolve({ transport: `${e.code ?? ''} ${e.message}`.trim() });
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
