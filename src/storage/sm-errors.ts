/**
 * @module
 * XenServer's storage-manager error numbers (`XE_SR_ERRORCODES.xml`) with their standard
 * texts, the ones Islet's SR drivers report; one table for every driver, so that a number
 * means the same failure whichever SR raised it. A failure goes out as a
 * `StorageBackendError` whose text is the standard one with the reason as `[opterr=…]`,
 * which the toolstack sends as `SR_BACKEND_FAILURE_<n>`.
 */
import { StorageBackendError } from '../core/ports/storage-errors.js';

export const SmError = {
  InvalidArg: [1, 'Invalid argument'],
  LockErr: [37, 'The lock/unlock request failed'],
  SRScan: [40, 'The SR scan failed'],
  SRExists: [42, 'The SR already exists'],
  VDIExists: [43, 'The VDI already exists'],
  SRNoSpace: [44, 'There is insufficient space'],
  VDIUnavailable: [46, 'The VDI is not available'],
  SRUnavailable: [47, 'The SR is not available'],
  FileSRCreate: [61, 'File SR creation error'],
  FileSRDelete: [63, 'File SR deletion error'],
  VDIRemove: [64, 'Failed to remove VDI'],
  ISCSIDevice: [67, 'ISCSI device failed to appear'],
  ISCSILogin: [68, 'ISCSI login failed - check access settings for the initiator on the storage, if CHAP is used verify CHAP credentials'],
  VDICreate: [78, 'VDI Creation failed'],
  VDISize: [79, 'VDI Invalid size'],
  VDIDelete: [80, 'Failed to mark VDI hidden'],
  VDIClone: [81, 'Failed to clone VDI'],
  VDISnapshot: [82, 'Failed to snapshot VDI'],
  VolNotFound: [92, 'The volume cannot be found'],
  ConfigLocationMissing: [94, 'The request is missing the location parameter'],
  ConfigTargetMissing: [95, 'The request is missing the target parameter'],
  SnapshotChainTooLong: [109, 'The snapshot chain is too long'],
} as const satisfies Record<string, readonly [number, string]>;
export type SmError = keyof typeof SmError;

/** An sm failure as xapi reports it, with the reason as `opterr`. */
export function smError(which: SmError, opterr?: string): StorageBackendError {
  const [n, text] = SmError[which];
  return new StorageBackendError(n, '', opterr ? `${text} [opterr=${opterr}]` : text);
}
