/**
 * @module
 * What can go wrong in storage, as the storage adapters (file, ISO, NetApp, EqualLogic)
 * report it: typed errors in storage's own terms (a disk that is not there, an SR that is
 * full, a backend that refused), never XenAPI errors. Actions let them pass; the API turns
 * them into the XenAPI errors clients know in one place, `core/wire-errors.ts`, where any
 * error leaves for the wire.
 */

/** Every storage failure; `instanceof StorageError` tells them from programming errors. */
export abstract class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The backend refused or failed, as XenServer's storage managers report it: an sm error
 * number (`SR_BACKEND_FAILURE_<n>` on the wire) with its standard text, or for the array
 * drivers a status word (`ARRAY_AUTH`, `ARRAY_CLI`…) naming what went wrong.
 */
export class StorageBackendError extends StorageError {
  constructor(
    /** sm's error number, when the failure has one (47: the SR is not available). */
    readonly smNumber: number | undefined,
    /** A short status word (`ARRAY_CLI`); empty for sm-numbered failures. */
    readonly status: string,
    /** What the user reads: the standard text and the backend's own words. */
    readonly text: string,
  ) {
    super(`${smNumber === undefined ? status : `sm error ${smNumber}`}: ${text}`);
  }
}

/** No room for the operation. The figures are unknown (undefined) when the backend said no more than "full". */
export class SrFullError extends StorageError {
  constructor(readonly requested?: number, readonly available?: number) {
    super(requested === undefined ? 'the SR is full' : `the SR is full: ${requested} bytes wanted, ${available ?? 0} left`);
  }
}

export class VdiMissingError extends StorageError {
  constructor(readonly srUuid: string, readonly vdiUuid: string) {
    super(`SR ${srUuid} has no disk ${vdiUuid}`);
  }
}

/** The disk is attached (or being changed) where this operation needs it free. */
export class VdiInUseError extends StorageError {
  constructor(readonly vdiUuid: string, readonly operation: string) {
    super(`disk ${vdiUuid} is in use (${operation})`);
  }
}

/** A write, or a writable attach, of a disk that is read-only (a snapshot, an ISO). */
export class VdiReadOnlyError extends StorageError {
  constructor(readonly vdiUuid: string) {
    super(`disk ${vdiUuid || '(ISO)'} is read-only`);
  }
}

export class SrNotAttachedError extends StorageError {
  constructor(readonly srUuid: string) {
    super(`SR ${srUuid} is not attached on this host`);
  }
}

/** The kind of SR cannot do this at all (create a disk on an ISO SR). */
export class SrOperationUnsupportedError extends StorageError {
  constructor(readonly operation: string) {
    super(`not supported: ${operation}`);
  }
}

export class UnknownSrDriverError extends StorageError {
  constructor(readonly type: string) {
    super(`no storage driver for SR type ${type}`);
  }
}

/** A setting or argument the storage cannot use (a device-config key, a disk image's format). */
export class StorageValueError extends StorageError {
  constructor(readonly field: string, readonly value: string) {
    super(`invalid ${field}: ${value}`);
  }
}

/** A disk image (an import's body) that ends before its own structures say it does. */
export class ImageTruncatedError extends StorageError {
  constructor(readonly reason: string) {
    super(`the disk image is cut short: ${reason}`);
  }
}

/** A disk uuid that is not a uuid (it would name a file outside the SR). */
export class VdiUuidInvalidError extends StorageError {
  constructor(readonly uuid: string) {
    super(`not a disk uuid: ${uuid}`);
  }
}
