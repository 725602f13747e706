/**
 * @module
 * Bare protocol calls for tests that check the wire itself (shapes, status codes),
 * independent of Islet's own client.
 */
export async function jsonRpc(url: string, method: string, params: unknown[], version: 1 | 2 = 2): Promise<any> {
  const body = version === 2 ? { jsonrpc: '2.0', method, params, id: 7 } : { method, params, id: 7 };
  const res = await fetch(`${url}/jsonrpc`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return res.json();
}

/** Calls and unwraps a JSON-RPC v2 result, throwing `Error(CODE params…)` on failure. */
export async function call(url: string, method: string, ...params: unknown[]): Promise<any> {
  const r = await jsonRpc(url, method, params);
  if (r.error) {
    const e = new Error(`${r.error.message} ${JSON.stringify(r.error.data)}`) as Error & { code: string; params: string[] };
    e.code = r.error.message;
    e.params = r.error.data;
    throw e;
  }
  return r.result;
}

export async function login(url: string, pw: string, user = 'root'): Promise<string> {
  return call(url, 'session.login_with_password', user, pw, '1.1', 'islet-test');
}

export async function postRaw(url: string, path: string, body: string | Buffer, contentType: string): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": contentType }, body: typeof body === "string" ? body : new Uint8Array(body) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}
