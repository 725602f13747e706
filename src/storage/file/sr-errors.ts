/**
 * @module
 * The failures the file SR reports. Storage backends in XenServer report failures with
 * sm's error numbers and a message like `The SR is not available [opterr=…]`; Islet uses
 * the same numbers (the toolstack sends them as `SR_BACKEND_FAILURE_<n>`), so scripts
 * written against XenServer recognise them. Space exhaustion is `SrFullError`.
 */
import { SrFullError, StorageBackendError, VdiMissingError } from '../../core/ports/storage-errors.js';

/** sm error numbers (`XE_SR_ERRORCODES.xml`) and their standard messages. */
export const SmError = {
  LockErr: [37, 'The lock/unlock request failed'],
  SRExists: [42, 'The SR already exists'],
  VDIExists: [43, 'The VDI already exists'],
  VDIUnavailable: [46, 'The VDI is not available'],
  SRUnavailable: [47, 'The SR is not available'],
  FileSRCreate: [61, 'File SR creation error'],
  FileSRDelete: [63, 'File SR deletion error'],
  VDISize: [79, 'VDI Invalid size'],
  VDIDelete: [80, 'Failed to mark VDI hidden'],
  VDIClone: [81, 'Failed to clone VDI'],
  VDISnapshot: [82, 'Failed to snapshot VDI'],
  ConfigLocationMissing: [94, 'The request is missing the location parameter'],
  SnapshotChainTooLong: [109, 'The snapshot chain is too long'],
} as const satisfies Record<string, readonly [number, string]>;
export type SmError = keyof typeof SmError;

/** An sm failure as xapi reports it, with the reason as `opterr`. */
export function backendError(which: SmError, opterr?: string): StorageBackendError {
  const [n, text] = SmError[which];
  return new StorageBackendError(n, '', opterr ? `${text} [opterr=${opterr}]` : text);
}

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
