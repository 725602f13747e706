/**
 * @module
 * The failures the file SR reports. Storage backends in XenServer report failures with
 * sm's error numbers and a message like `The SR is not available [opterr=…]`; Islet uses
 * the same numbers (the toolstack sends them as `SR_BACKEND_FAILURE_<n>`), so scripts
 * written against XenServer recognise them. Space exhaustion is `SrFullError`.
 */
import { SrFullError, VdiMissingError } from '../../core/ports/storage-errors.js';

/** The file SR's sm failures come from the drivers' shared table. */
export { SmError, smError as backendError } from '../sm-errors.js';

export function srFull(requested: number, maximum: number): SrFullError {
  return new SrFullError(requested, Math.max(0, maximum));
}

export function vdiMissing(srUuid: string, vdiUuid: string): VdiMissingError {
  return new VdiMissingError(srUuid, vdiUuid);
}

export function isNoSpace(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function isNotFound(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ENOENT';
}
