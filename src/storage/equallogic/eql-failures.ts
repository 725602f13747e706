/**
 * @module
 * EqualLogic failures as storage failures: the adapter's typed errors become backend
 * failures with a status saying which kind and the group's own text; a full pool is
 * `SrFullError`; storage failures pass through.
 */
import { SrFullError, StorageError } from '../../core/ports/storage-errors.js';
import { arrayError, type ArrayFailure } from '../array/array-errors.js';
import { EqlError, type EqlErrorKind } from './eql-errors.js';

const STATUS: Record<EqlErrorKind, ArrayFailure> = {
  auth: 'ARRAY_AUTH', connect: 'ARRAY_UNREACHABLE', cli: 'ARRAY_CLI', dropped: 'ARRAY_SESSION_LOST', timeout: 'ARRAY_TIMEOUT',
};

export function asStorageError(e: unknown): unknown {
  if (e instanceof StorageError) return e;
  if (e instanceof EqlError) {
    if (e.kind === 'cli' && /Not enough free space/i.test(e.message)) return new SrFullError();
    return arrayError(STATUS[e.kind], `EqualLogic: ${e.message}`);
  }
  return e;
}
