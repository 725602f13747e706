/**
 * A small XenAPI JSON-RPC client for the browser: login (following HOST_IS_SLAVE to the
 * master), calls, and typed errors. It talks to the host that served the page unless a
 * HOST_IS_SLAVE answer or a reconnection moved it to another host's origin.
 */

export class XapiError extends Error {
  constructor(readonly code: string, readonly params: string[]) {
    super(params.length ? `${code}: ${params.join(', ')}` : code);
  }
}

/** The connection failed (host down, restarting, unreachable): not an answer from XenAPI. */
export class ConnectionLost extends Error {}

export type Ref = string;
export type XRecord = Record<string, any>;

let nextId = 1;

export async function rpc(origin: string, method: string, params: unknown[], signal?: AbortSignal): Promise<any> {
  let res: Response;
  try {
    res = await fetch(`${origin}/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method, params, id: nextId++ }),
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ConnectionLost(`cannot reach ${origin || location.host}`);
  }
  let body: any;
  try {
    body = await res.json();
  } catch {
    throw new ConnectionLost(`bad answer from ${origin || location.host} (${res.status})`);
  }
  if (body.error) {
    const data = Array.isArray(body.error.data) ? body.error.data.map(String) : [];
    throw new XapiError(String(body.error.message ?? 'INTERNAL_ERROR'), data);
  }
  return body.result;
}

/** `host` or `host:port` from HOST_IS_SLAVE, as an origin in this page's scheme. */
export function originOf(address: string, currentOrigin: string): string {
  const cur = new URL(currentOrigin || location.origin);
  const hasPort = /^\[.*\]:\d+$|^[^:\[\]]+:\d+$/.test(address);
  const host = hasPort ? address : `${address}${cur.port ? `:${cur.port}` : ''}`;
  return `${cur.protocol}//${host}`;
}

/** Where a host record says it serves: its address, on the port Islet records for it (hosts sharing a machine differ by port). */
export function hostRecordOrigin(h: XRecord, currentOrigin: string): string | undefined {
  if (!h.address) return undefined;
  const address = String(h.address);
  const port = Number(h.other_config?.islet_port);
  const hasPort = /^\[.*\]:\d+$|^[^:\[\]]+:\d+$/.test(address);
  return originOf(!hasPort && port ? `${address.includes(':') ? `[${address}]` : address}:${port}` : address, currentOrigin);
}

export interface Login {
  origin: string;
  session: Ref;
}

/** Logs in at `origin`, following HOST_IS_SLAVE up to three hops. */
export async function login(origin: string, user: string, password: string): Promise<Login> {
  let at = origin;
  for (let hop = 0; hop < 4; hop++) {
    try {
      const session = await rpc(at, 'session.login_with_password', [user, password, '1.0', 'Islet Console']);
      return { origin: at, session };
    } catch (e) {
      if (e instanceof XapiError && e.code === 'HOST_IS_SLAVE' && e.params[0]) {
        at = originOf(e.params[0], at || location.origin);
        continue;
      }
      throw e;
    }
  }
  throw new XapiError('HOST_IS_SLAVE', ['too many redirections']);
}

/** Human text for an error, naming XenAPI's code so a user can look it up. */
export function describeError(e: unknown): string {
  if (e instanceof XapiError) {
    const known: Record<string, string> = {
      SESSION_AUTHENTICATION_FAILED: 'The user name or password is not correct.',
      RBAC_PERMISSION_DENIED: 'Your role does not allow this.',
      HOST_OFFLINE: 'The server is offline.',
    };
    const gist = known[e.code];
    return gist ? `${gist} (${e.code})` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
