/**
 * @module
 * A XenAPI failure as a client sees it: the code and string parameters of the server's
 * `[CODE, params…]`. Unlike the server's `ApiError`, this type accepts any code, because a
 * client must be able to report errors it has never heard of (newer servers, other
 * toolstacks) rather than fail while reporting a failure.
 */

export class XapiCallError extends Error {
  readonly code: string;
  readonly params: string[];
  constructor(code: string, params: readonly unknown[] = []) {
    const strs = params.map((p) => (typeof p === 'string' ? p : JSON.stringify(p) ?? String(p)));
    super(`${code}${strs.length ? ` [${strs.join(', ')}]` : ''}`);
    this.name = 'XapiCallError';
    this.code = code;
    this.params = strs;
  }

  /** From the `[CODE, params…]` list that XML-RPC, JSON-RPC v1 and `task.error_info` carry. */
  static fromList(list: readonly unknown[]): XapiCallError {
    const [code, ...params] = list;
    return new XapiCallError(typeof code === 'string' && code ? code : 'INTERNAL_ERROR', params);
  }
}

/** Whether `e` is a XenAPI failure with the given code (any code when omitted). */
export function isXapiError(e: unknown, code?: string): e is XapiCallError {
  return e instanceof XapiCallError && (code === undefined || e.code === code);
}
