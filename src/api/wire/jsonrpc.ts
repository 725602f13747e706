/**
 * @module
 * JSON-RPC as xapi speaks it at `/jsonrpc`. Version 1 (no `jsonrpc` member) answers
 * `{result, error, id}` with the error as the `[CODE, params…]` list; version 2 answers
 * `{jsonrpc: "2.0", result | error, id}` with the error as `{code: 1, message: CODE,
 * data: [params…]}` (the code is always 1: xapi keeps it non-zero only because some
 * clients read 0 as success). Requests follow ocaml-rpc's rules: the id must be present,
 * not null, and an integer or a string.
 */

/** Thrown for a body that is not a JSON-RPC call; xapi answers those with HTTP 500. */
export class JsonRpcParseError extends Error {
  constructor(message: string) {
    super(`JSON-RPC parse error: ${message}`);
    this.name = 'JsonRpcParseError';
  }
}

export type JsonRpcVersion = 1 | 2;
export type JsonRpcId = number | string;

export interface JsonRpcCall {
  readonly method: string;
  readonly params: unknown[];
  readonly id: JsonRpcId;
  readonly version: JsonRpcVersion;
}

/**
 * Parses a JSON-RPC request. Version 2 may omit `params` (no arguments) or pass one object
 * (a single argument), as ocaml-rpc allows; version 1 needs an array.
 * @throws JsonRpcParseError
 */
export function parseJsonRpcCall(body: string): JsonRpcCall {
  let req: unknown;
  try {
    req = JSON.parse(body);
  } catch (e) {
    throw new JsonRpcParseError(e instanceof Error ? e.message : String(e));
  }
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    throw new JsonRpcParseError('the request is not an object');
  }
  const o = req as Record<string, unknown>;
  if (typeof o.method !== 'string') throw new JsonRpcParseError("invalid field 'method'");
  let version: JsonRpcVersion;
  if (o.jsonrpc === undefined) version = 1;
  else if (o.jsonrpc === '2.0') version = 2;
  else throw new JsonRpcParseError("invalid field 'jsonrpc'");
  let params: unknown[];
  const p = o.params;
  if (Array.isArray(p)) params = p;
  else if (version === 2 && (p === undefined || p === null)) params = [];
  else if (version === 2 && typeof p === 'object') params = [p];
  else throw new JsonRpcParseError("invalid field 'params'");
  const id = o.id;
  if (id === undefined || id === null) throw new JsonRpcParseError("missing field 'id' (notifications are not supported)");
  if (!(typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)))) {
    throw new JsonRpcParseError("invalid field 'id'");
  }
  return { method: o.method, params, id, version };
}

/**
 * The response to a successful call. `result` is the JSON form of the value, as
 * `toJson(wire)` gives it.
 */
export function jsonRpcSuccess(id: JsonRpcId | null, version: JsonRpcVersion, result: unknown): string {
  return JSON.stringify(version === 1 ? { result, error: null, id } : { jsonrpc: '2.0', result, id });
}

/**
 * The response to a failed call; `errorDescription` is `[CODE, params…]`. The id is null
 * only when the request was too broken to have one.
 */
export function jsonRpcFailure(id: JsonRpcId | null, version: JsonRpcVersion, errorDescription: readonly string[]): string {
  if (version === 1) return JSON.stringify({ result: null, error: errorDescription, id });
  const [message = '', ...data] = errorDescription;
  return JSON.stringify({ jsonrpc: '2.0', error: { code: 1, message, data }, id });
}
