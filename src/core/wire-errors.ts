/**
 * @module
 * Where any failure becomes the XenAPI error a client receives: the one mapping. The
 * storage adapters throw their own typed failures (`core/ports/storage-errors.ts`) and
 * know nothing of XenAPI; they are mapped here, once, as they leave for the wire, from a
 * call's reply, an asynchronous task's result, an HTTP handler's answer or a call run on
 * this host for another one, and where a failure is reported inside an answer or a record
 * rather than thrown (a rolling update's `error_info`, a task the updates port fails). It
 * lives in `core/` so that those in-band reports use it too; actions otherwise let
 * failures pass and the API maps them. sm-numbered backend failures keep XenServer's
 * `SR_BACKEND_FAILURE_<n>` codes and `[status, message, stderr]` params, so scripts written
 * against XenServer recognise them; everything that is not storage's goes through
 * `toApiError` (XenAPI errors as they are, the host out of space, INTERNAL_ERROR).
 */
import { ApiError, toApiError } from './api-error.js';
import {
  ImageTruncatedError, SrFullError, SrNotAttachedError, SrOperationUnsupportedError, StorageBackendError, StorageError, StorageValueError,
  UnknownSrDriverError, VdiInUseError, VdiMissingError, VdiReadOnlyError, VdiUuidInvalidError,
} from './ports/storage-errors.js';

export function apiErrorFromStorage(e: StorageError): ApiError {
  if (e instanceof StorageBackendError) {
    if (e.smNumber === undefined) return new ApiError('SR_BACKEND_FAILURE', [e.status, e.text, '']);
    // A number without a code in the table fails here, loudly, as an undeclared code does.
    return ApiError.fromWire(`SR_BACKEND_FAILURE_${e.smNumber}`, [e.status, e.text, '']);
  }
  if (e instanceof SrFullError) return new ApiError('SR_FULL', [String(e.requested ?? 0), String(Math.max(0, e.available ?? 0))]);
  if (e instanceof VdiMissingError) return new ApiError('VDI_MISSING', [e.srUuid, e.vdiUuid]);
  if (e instanceof VdiInUseError) return new ApiError('VDI_IN_USE', [e.vdiUuid, e.operation]);
  if (e instanceof VdiReadOnlyError) return new ApiError('VDI_READONLY', [e.vdiUuid]);
  if (e instanceof SrNotAttachedError) return new ApiError('SR_NOT_ATTACHED', [e.srUuid]);
  if (e instanceof SrOperationUnsupportedError) return new ApiError('SR_OPERATION_NOT_SUPPORTED', [e.operation]);
  if (e instanceof UnknownSrDriverError) return new ApiError('SR_UNKNOWN_DRIVER', [e.type]);
  if (e instanceof StorageValueError) return new ApiError('INVALID_VALUE', [e.field, e.value]);
  if (e instanceof ImageTruncatedError) return new ApiError('VDI_IO_ERROR', [e.message]);
  if (e instanceof VdiUuidInvalidError) return new ApiError('UUID_INVALID', ['VDI', e.uuid]);
  return new ApiError('INTERNAL_ERROR', [e.message]);
}

/** Any thrown value as the XenAPI error that goes on the wire. */
export function toWireError(e: unknown): ApiError {
  return e instanceof StorageError ? apiErrorFromStorage(e) : toApiError(e);
}

/** Storage's typed failures as XenAPI errors, anything else as it is (a call run here for another host). */
export function storageAsApiError(e: unknown): unknown {
  return e instanceof StorageError ? apiErrorFromStorage(e) : e;
}
