/**
 * @module
 * Storage's typed failures (`core/ports/storage-errors.ts`) as the XenAPI errors clients
 * know, written once: `toApiError` applies it to whatever leaves for the wire, and
 * actions apply it where they call a driver. sm-numbered backend failures keep XenServer's
 * `SR_BACKEND_FAILURE_<n>` codes and `[status, message, stderr]` params, so scripts written
 * against XenServer recognise them.
 */
import { ApiError, type ErrorCode } from './api-error.js';
import {
  SrFullError, SrNotAttachedError, SrOperationUnsupportedError, StorageBackendError, type StorageError, StorageValueError,
  UnknownSrDriverError, VdiInUseError, VdiMissingError, VdiReadOnlyError, VdiUuidInvalidError,
} from './ports/storage-errors.js';

export function apiErrorFromStorage(e: StorageError): ApiError {
  if (e instanceof StorageBackendError) {
    if (e.smNumber === undefined) return new ApiError('SR_BACKEND_FAILURE', [e.status, e.text, '']);
    // A number without a code in the table fails here, loudly, as an undeclared code does.
    return ApiError.fromWire(`SR_BACKEND_FAILURE_${e.smNumber}` as ErrorCode, [e.status, e.text, '']);
  }
  if (e instanceof SrFullError) return new ApiError('SR_FULL', [String(e.requested ?? 0), String(Math.max(0, e.available ?? 0))]);
  if (e instanceof VdiMissingError) return new ApiError('VDI_MISSING', [e.srUuid, e.vdiUuid]);
  if (e instanceof VdiInUseError) return new ApiError('VDI_IN_USE', [e.vdiUuid, e.operation]);
  if (e instanceof VdiReadOnlyError) return new ApiError('VDI_READONLY', [e.vdiUuid]);
  if (e instanceof SrNotAttachedError) return new ApiError('SR_NOT_ATTACHED', [e.srUuid]);
  if (e instanceof SrOperationUnsupportedError) return new ApiError('SR_OPERATION_NOT_SUPPORTED', [e.operation]);
  if (e instanceof UnknownSrDriverError) return new ApiError('SR_UNKNOWN_DRIVER', [e.type]);
  if (e instanceof StorageValueError) return new ApiError('INVALID_VALUE', [e.field, e.value]);
  if (e instanceof VdiUuidInvalidError) return new ApiError('UUID_INVALID', ['VDI', e.uuid]);
  return new ApiError('INTERNAL_ERROR', [e.message]);
}
