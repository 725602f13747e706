/**
 * @module
 * Failures the array SR drivers (NetApp, EqualLogic) share. An array's failure is a
 * backend failure (on the wire `SR_BACKEND_FAILURE [status, text, '']`) with a status
 * naming what went wrong (`ARRAY_AUTH`, `ARRAY_UNREACHABLE`, `ARRAY_CLI`,
 * `ARRAY_IDENTITY_MISMATCH`…) and the array's own text in the message.
 */
import { StorageBackendError, VdiInUseError, VdiMissingError } from '../../core/ports/storage-errors.js';

export type ArrayFailure =
  | 'ARRAY_AUTH' | 'ARRAY_UNREACHABLE' | 'ARRAY_CLI' | 'ARRAY_SESSION_LOST' | 'ARRAY_TIMEOUT'
  | 'ARRAY_IDENTITY_MISMATCH' | 'ARRAY_FIRMWARE_UNSUPPORTED' | 'ARRAY_CONFIG' | 'ARRAY_SR_EXISTS' | 'ARRAY_NO_SUCH_SR';

export function arrayError(status: ArrayFailure, text: string): StorageBackendError {
  return new StorageBackendError(undefined, status, text);
}

export function vdiMissing(srUuid: string, vdiUuid: string): VdiMissingError {
  return new VdiMissingError(srUuid, vdiUuid);
}

export function vdiInUse(vdiUuid: string, operation: string): VdiInUseError {
  return new VdiInUseError(vdiUuid, operation);
}

/**
 * The refusal of item 7: the device config reaches an array (or group, or pool) that is
 * not the one holding the SR. Names both identities so the administrator sees which is which.
 */
export function identityMismatch(srUuid: string, expected: string | undefined, found: string): StorageBackendError {
  return arrayError(
    'ARRAY_IDENTITY_MISMATCH',
    `SR ${srUuid} ${expected ? `belongs to ${expected}` : 'is not on the storage reached'}, but the device config reaches ${found}${expected ? '' : ', which does not hold it'}; point the PBD at the array that holds the SR`,
  );
}
