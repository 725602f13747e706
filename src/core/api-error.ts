/**
 * @module
 * The one error type that crosses the wire: a XenAPI code and its string parameters.
 * Adapters' own typed failures (storage's) become the XenAPI errors they mean at the API's
 * boundary (`core/wire-errors.ts`); anything else thrown inside the toolstack becomes
 * INTERNAL_ERROR there (`toApiError`).
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

/**
 * The host itself out of space: SQLite's SQLITE_FULL from the pool database, or ENOSPC from
 * a file the toolstack writes outside any SR. xapi's OUT_OF_SPACE names where.
 */
function hostOutOfSpace(e: unknown): ApiError | undefined {
  const { code, path } = (e ?? {}) as { code?: unknown; path?: unknown };
  if (code === 'SQLITE_FULL') return new ApiError('OUT_OF_SPACE', ['pool database']);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new ApiError('OUT_OF_SPACE', [typeof path === 'string' ? path : 'host']);
  return undefined;
}

/** Any thrown value as an ApiError; unexpected failures keep only their message. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const full = hostOutOfSpace(e);
  if (full) return full;
  const msg = e instanceof Error ? e.message : String(e);
  return new ApiError('INTERNAL_ERROR', [msg]);
}
