/**
 * @module
 * The one error type that crosses the wire: a XenAPI code and its string parameters.
 * Anything else thrown inside the toolstack becomes INTERNAL_ERROR at the boundary.
 */
import { isDeclaredError, type ErrorCode } from '../datamodel/errors.js';

export type { ErrorCode };

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly params: string[];
  /** `code` is one of the datamodel's table; a code known only at run time goes through `fromWire`. */
  constructor(code: ErrorCode, params: readonly unknown[] = []) {
    if (!isDeclaredError(code)) throw new Error(`undeclared XenAPI error code ${code}`);
    const strs = params.map((p) => (typeof p === 'string' ? p : JSON.stringify(p) ?? String(p)));
    super(`${code}${strs.length ? ` [${strs.join(', ')}]` : ''}`);
    this.name = 'ApiError';
    this.code = code;
    this.params = strs;
  }
  /** An error whose code arrived as data (from another host, a client): checked against the table. */
  static fromWire(code: string, params: readonly unknown[] = []): ApiError {
    return new ApiError(code as ErrorCode, params);
  }

  /** The `[CODE, params…]` list XenAPI clients receive. */
  toWire(): string[] {
    return [this.code, ...this.params];
  }
}

/** Any thrown value as an ApiError; unexpected failures keep only their message. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new ApiError('INTERNAL_ERROR', [msg]);
}
