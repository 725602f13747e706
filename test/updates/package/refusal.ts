/**
 * @module
 * Assertions for refused packages: the ApiError code, and the reason (the wire log of
 * INVALID_PATCH_WITH_LOG, or the log-only `cause` of a bare INVALID_PATCH).
 */
import assert from 'node:assert/strict';
import { ApiError } from '../../../src/core/api-error.js';

export async function assertRefused(p: Promise<unknown>, code: 'INVALID_PATCH' | 'INVALID_PATCH_WITH_LOG', reason: RegExp): Promise<ApiError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ApiError, `expected ApiError ${code}, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.equal(caught.code, code, `wrong code: ${caught.message} (cause: ${String((caught as { cause?: unknown }).cause)})`);
  if (code === 'INVALID_PATCH') {
    assert.deepEqual(caught.params, [], 'INVALID_PATCH carries no parameters on the wire');
    assert.match(String((caught as { cause?: unknown }).cause), reason);
  } else {
    assert.equal(caught.params.length, 1);
    assert.match(caught.params[0]!, reason);
  }
  return caught;
}
