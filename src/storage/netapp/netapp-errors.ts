/**
 * @module
 * The failures the NetApp SR reports. As XenServer's storage backends do, failures carry
 * sm's error numbers (on the wire `SR_BACKEND_FAILURE_<n>`, params `[status, message, stderr]`);
 * when the array refused something, its own message and ONTAP error code travel in the
 * message as `[opterr=…]`, so the user reads what the array said (the space it lacks,
 * the aggregate it does not know) instead of a generic failure. Never the password.
 */
import { StorageBackendError, StorageError } from '../../core/ports/storage-errors.js';
import { OntapApiError } from './ontap-rest-client.js';

export const NetappSmError = {
  InvalidArg: [1, 'Invalid argument'],
  SRScan: [40, 'The SR scan failed'],
  SRExists: [42, 'The SR already exists'],
  SRNoSpace: [44, 'There is insufficient space'],
  VDIUnavailable: [46, 'The VDI is not available'],
  SRUnavailable: [47, 'The SR is not available'],
  VDIRemove: [64, 'Failed to remove VDI'],
  ISCSIDevice: [67, 'ISCSI device failed to appear'],
  ISCSILogin: [68, 'ISCSI login failed - check access settings for the initiator on the storage, if CHAP is used verify CHAP credentials'],
  VDICreate: [78, 'VDI Creation failed'],
  VDISize: [79, 'VDI Invalid size'],
  VDIClone: [81, 'Failed to clone VDI'],
  VDISnapshot: [82, 'Failed to snapshot VDI'],
  VolNotFound: [92, 'The volume cannot be found'],
  ConfigTargetMissing: [95, 'The request is missing the target parameter'],
} as const satisfies Record<string, readonly [number, string]>;
export type NetappSmError = keyof typeof NetappSmError;

export function netappError(which: NetappSmError, opterr?: string): StorageBackendError {
  const [n, text] = NetappSmError[which];
  return new StorageBackendError(n, '', opterr ? `${text} [opterr=${opterr}]` : text);
}

/** ONTAP codes (and failure kinds) that mean "not enough space". */
const SPACE_CODES = new Set(['917534', '13566']);

/**
 * An array failure as a storage failure: `what` is the operation's sm error (VDICreate,
 * VDISnapshot…), replaced by SRNoSpace when the array said it lacks space and by
 * SRUnavailable when it could not be reached or refused the credentials.
 */
export function fromOntap(e: unknown, what: NetappSmError, context: string): StorageError {
  if (e instanceof StorageError) return e;
  if (!(e instanceof OntapApiError)) {
    return netappError(what, `${context}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const said = e.kind === 'network' || e.kind === 'certificate' || e.kind === 'timeout'
    ? e.message
    : `${e.message} (ONTAP error ${e.code}${e.target ? `, field ${e.target}` : ''})`;
  if (e.kind === 'auth') return netappError('SRUnavailable', `${context}: the array refused the credentials: ${said}`);
  if (e.kind === 'network' || e.kind === 'certificate' || e.kind === 'timeout') return netappError('SRUnavailable', `${context}: ${said}`);
  if (SPACE_CODES.has(e.code) || /not enough space|insufficient space|no space/i.test(e.message)) return netappError('SRNoSpace', `${context}: ${said}`);
  return netappError(what, `${context}: ${said}`);
}

/** Runs an array call, turning its failure into a storage failure. */
export async function onArray<T>(what: NetappSmError, context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw fromOntap(e, what, context);
  }
}
