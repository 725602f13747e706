/**
 * @module
 * What the pool's XenAPI calls (`pool.join`, `pool.eject`, the emergency pair, the
 * hosts' internal `islet_` calls, host restart/reboot/shutdown) ask of this host's place
 * in its pool. The pool transport implements it; the actions stay thin and never see
 * how membership, replication or heartbeats work.
 */
import type { Ref } from '../ref.js';

/** The process-level acts a host can be asked for. */
export type LifecycleAction = 'restart-agent' | 'reboot' | 'shutdown';

export interface PoolMembership {
  join(masterAddress: string, user: string, password: string): Promise<void>;
  eject(host: Ref<'host'>): Promise<void>;
  /** Removes a dead host's records without contacting it (host.destroy); master only. */
  forget(host: Ref<'host'>): Promise<void>;
  designateNewMaster(host: Ref<'host'>): Promise<void>;
  emergencyTransitionToMaster(): void;
  /** Follows the master at `masterAddress` (a member whose master moved). */
  followMaster(masterAddress: string): void;
  recoverSlaves(): Promise<Ref<'host'>[]>;
  /** Fails with HOST_IS_SLAVE on a member. */
  assertMaster(): void;
  /** A joining host's request (parsed from JSON, checked here) and the master's reply. */
  acceptJoin(request: unknown): unknown;
  /** The joining host `hostUuid` confirms its join (unconfirmed joins are undone). */
  confirmJoin(hostUuid: string): void;
  acceptHeartbeat(host: Ref<'host'>, status: Record<string, unknown>): void;
  /**
   * The database changes after generation `since`, waiting up to `timeoutMs` for some; JSON.
   * When `stopping` aborts (this toolstack stops), a waiting call answers at once with what
   * there is, so that the member's long poll does not hold its connection open to the end.
   */
  dbChanges(since: number, timeoutMs: number, fromHostUuid?: string, stopping?: AbortSignal): Promise<string>;
  /**
   * pool.sync_database (master): resolves once every live member has applied the database
   * as it is now (its next request for changes starts at or past the current generation);
   * a member that does not catch up within `timeoutMs` fails it with HOST_OFFLINE.
   */
  syncDatabase(timeoutMs: number): Promise<void>;
  /** Writes a member forwarded to the master (already parsed from JSON). */
  dbApply(writes: unknown): void;
  takeOver(): Promise<void>;
  /** This host was ejected: it leaves the pool. */
  leave(): void;
  /** A session for another host of the pool that proved itself with its own credential. */
  poolLogin(hostUuid: string, credential: string): Ref<'session'>;
  /** Asks this host's supervisor for a process-level act. */
  requestLifecycle(action: LifecycleAction): Promise<void>;
  /** Marks a host not live at once (it is going down), rather than after its heartbeats stop. */
  markDead(host: Ref<'host'>): void;
}
