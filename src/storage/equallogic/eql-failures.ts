/**
 * @module
 * EqualLogic failures as XenAPI errors: the adapter's typed errors become
 * `SR_BACKEND_FAILURE` with a status saying which kind and the group's own text; a full
 * pool is xapi's `SR_FULL`; XenAPI errors pass through.
 */
import { ApiError } from '../../core/api-error.js';
import { arrayError, type ArrayFailure } from '../array/array-errors.js';
import { EqlError, type EqlErrorKind } from './eql-errors.js';

const STATUS: Record<EqlErrorKind, ArrayFailure> = {
  auth: 'ARRAY_AUTH', connect: 'ARRAY_UNREACHABLE', cli: 'ARRAY_CLI', dropped: 'ARRAY_SESSION_LOST', timeout: 'ARRAY_TIMEOUT',
};

export function asApiError(e: unknown): unknown {
  if (e instanceof ApiError) return e;
  if (e instanceof EqlError) {
    if (e.kind === 'cli' && /Not enough free space/i.test(e.message)) return new ApiError('SR_FULL', ['0', '0']);
    return arrayError(STATUS[e.kind], `EqualLogic: ${e.message}`);
  }
  return e;
}
