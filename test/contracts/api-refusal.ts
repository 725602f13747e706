/**
 * @module
 * What the contract suites expect of a refusal: the promise rejects with a XenAPI error
 * (`ApiError`), which is returned for its code and params to be checked.
 */
import assert from 'node:assert/strict';
import { ApiError } from '../../src/core/api-error.js';

export async function apiRefusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected a XenAPI error, got ${e instanceof Error ? e.stack : String(e)}`);
    return e;
  }
  assert.fail('it succeeded where a XenAPI error was expected');
}
