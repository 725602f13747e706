/**
 * @module
 * The XenAPI error codes of the hotfix (pool_patch) family, with xapi's own parameter names
 * (from its datamodel_errors). Importing this module declares them, so every updates module
 * imports it before it can raise one. `invalidPatch` and `invalidPatchLog` are the two ways a
 * package is refused: without detail when the refusal is about trust (nothing to tell an
 * attacker), with a one-line log when it is about content.
 */
import { ApiError } from '../core/api-error.js';
import { declareErrors } from '../datamodel/errors.js';

export const UpdateErrorCodes = {
  INVALID_PATCH: [],
  INVALID_PATCH_WITH_LOG: ['log'],
  OUT_OF_SPACE: ['location'],
  CANNOT_FIND_PATCH: [],
  CANNOT_FETCH_PATCH: ['uuid'],
  PATCH_ALREADY_EXISTS: ['uuid'],
  PATCH_ALREADY_APPLIED: ['patch'],
  PATCH_IS_APPLIED: [],
  PATCH_APPLY_FAILED: ['output'],
  PATCH_PRECHECK_FAILED_UNKNOWN_ERROR: ['patch', 'info'],
  PATCH_PRECHECK_FAILED_PREREQUISITE_MISSING: ['patch', 'prerequisite_patch_uuid_list'],
  PATCH_PRECHECK_FAILED_WRONG_SERVER_VERSION: ['patch', 'found_version', 'required_version'],
  PATCH_PRECHECK_FAILED_WRONG_SERVER_BUILD: ['patch', 'found_build', 'required_build'],
  PATCH_PRECHECK_FAILED_VM_RUNNING: ['patch'],
  PATCH_PRECHECK_FAILED_OUT_OF_SPACE: ['patch', 'found_space', 'required_required'],
  INVALID_UPDATE: ['info'],
  UPDATE_ALREADY_EXISTS: ['uuid'],
  UPDATE_ALREADY_APPLIED: ['update'],
  UPDATE_ALREADY_APPLIED_IN_POOL: ['update'],
  UPDATE_APPLY_FAILED: ['output'],
  UPDATE_IS_APPLIED: [],
  UPDATE_POOL_APPLY_FAILED: ['hosts'],
  UPDATE_PRECHECK_FAILED_UNKNOWN_ERROR: ['update', 'info'],
  UPDATE_PRECHECK_FAILED_PREREQUISITE_MISSING: ['update', 'prerequisite_update'],
  UPDATE_PRECHECK_FAILED_CONFLICT_PRESENT: ['update', 'conflict_update'],
  UPDATE_PRECHECK_FAILED_WRONG_SERVER_VERSION: ['update', 'installed_version', 'required_version'],
  UPDATE_PRECHECK_FAILED_OUT_OF_SPACE: ['update', 'available_space', 'required_space'],
  CANNOT_EVACUATE_HOST: ['errors'],
  COULD_NOT_IMPORT_DATABASE: ['reason'],
} as const satisfies Record<string, readonly string[]>;

declareErrors(UpdateErrorCodes);

export type UpdateErrorCode = keyof typeof UpdateErrorCodes;

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
