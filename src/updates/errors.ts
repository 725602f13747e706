/**
 * @module
 * The two ways a hotfix package is refused (its codes are in the datamodel's error table):
 * without detail when the refusal is about trust (nothing to tell an attacker), with a
 * one-line log when it is about content.
 */
import { ApiError } from '../core/api-error.js';

/**
 * INVALID_PATCH with the reason kept off the wire: `cause` is for the server log only, so a
 * client learns that the package is refused but not which key or check it failed.
 */
export function invalidPatch(reason: string): ApiError {
  const e = new ApiError('INVALID_PATCH');
  (e as { cause?: unknown }).cause = reason;
  return e;
}

/** INVALID_PATCH_WITH_LOG: the package's content is wrong in a way worth telling its author. */
export function invalidPatchLog(log: string): ApiError {
  return new ApiError('INVALID_PATCH_WITH_LOG', [log]);
}
