/**
 * @module
 * The failures the NetApp SR reports. As XenServer's storage backends do, failures carry
 * sm's error numbers (on the wire `SR_BACKEND_FAILURE_<n>`, params `[status, message, stderr]`);
 * when the array refused something, its own message and ONTAP error code travel in the
 * message as `[opterr=…]`, so the user reads what the array said (the space it lacks,
 * the aggregate it does not know) instead of a generic failure. Never the password.
 */
import { StorageError } from '../../core/ports/storage-errors.js';
import { type SmError as NetappSmError, smError as netappError } from '../sm-errors.js';
import { OntapApiError } from './ontap-rest-client.js';

/** The NetApp SR's sm failures come from the drivers' shared table. */
export { SmError as NetappSmError, smError as netappError } from '../sm-errors.js';

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
