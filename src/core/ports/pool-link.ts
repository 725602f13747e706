/**
 * @module
 * How a host reaches the rest of its pool. On the master, work that must happen on a
 * particular host (start a domain, attach an SR there, install an update) goes through
 * `callOnHost`; a member uses `master` to learn where to send clients.
 */
import type { Ref } from '../ref.js';
import type { PoolMembership } from './pool-membership.js';

/** Where the master serves files to its members, and the headers a member proves itself with. */
export const POOL_FILE_PATH = '/islet_pool_file';
export const HOST_UUID_HEADER = 'x-islet-host-uuid';
export const HOST_CREDENTIAL_HEADER = 'x-islet-host-credential';

export interface PoolLink {
  /** Whether this host holds the pool database now. */
  isMaster(): boolean;
  /** The master's address, as HOST_IS_SLAVE reports it. */
  masterAddress(): string;
  /**
   * Runs a XenAPI call on `host` as the pool's internal user and returns its decoded
   * result; on this host it is a local call. Fails with HOST_OFFLINE when the host
   * cannot be reached. `timeoutMs` lengthens the wait for calls known to be long (a live
   * migration, a clean shutdown the guest takes its time over).
   */
  callOnHost(host: Ref<'host'>, method: string, params: readonly unknown[], opts?: { readonly timeoutMs?: number }): Promise<unknown>;
  /**
   * Copies a file kept under the master's data directory (`path` relative to it) to
   * `dest` on this host, authenticated with the pool secret.
   */
  fetchFromMaster?(path: string, dest: string): Promise<void>;
  /**
   * Taken when a call starts; what it returns resolves once the master has applied every
   * database write this host made by then (at once on the master, or when this host has
   * since followed another master): a member answers a call only then, so that its caller
   * reads back what the call did.
   */
  writesBarrier?(): () => Promise<void>;
  /** This host's membership, for the pool's own XenAPI calls; absent where none is wired. */
  readonly membership?: PoolMembership;
}
