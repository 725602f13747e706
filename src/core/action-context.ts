/**
 * @module
 * What an action receives: the pool database, the caller's session, the task it runs
 * under (for async calls) and the host's services. Actions are plain functions from this
 * context and a named-argument object to a result, so they can be called from the wire,
 * from other actions and from tests alike.
 */
import type { BlobStore } from './ports/blob-store.js';
import type { Hypervisor } from './ports/hypervisor.js';
import type { LogControl } from './ports/log-control.js';
import type { NbdEndpoint } from './ports/nbd-endpoint.js';
import type { PoolDb } from './ports/pool-db.js';
import type { PoolLink } from './ports/pool-link.js';
import type { StorageHost } from './ports/storage-host.js';
import type { UpdatesPort } from './ports/updates.js';
import type { Ref } from './ref.js';
import type { SessionInfo, SessionsPort } from './ports/sessions.js';
import type { TaskHandle, TasksPort } from './ports/tasks.js';
import type { CallStats } from './process-stats.js';
import type { DataSources } from './ports/metrics.js';

/**
 * Host services the actions reach through ports; `src/main/` decides what fills them.
 * Later subsystems (storage, hypervisor, pool transport, updates) add members here.
 */
export interface Services {
  readonly db: PoolDb;
  /** This host's ref in the pool database. */
  readonly hostRef: Ref<'host'>;
  readonly now: () => Date;
  readonly sessions: SessionsPort;
  readonly tasks: TasksPort;
  /** Where this host keeps its files (database, certificates, patches). */
  readonly dataDir: string;
  /** Storage drivers and attached SRs of this host. */
  readonly storage?: StorageHost;
  /** This host's hypervisor (the simulator process on this machine). */
  readonly hypervisor?: Hypervisor;
  /** `HOST:PORT` where this host's hypervisor accepts incoming live migrations. */
  readonly hypervisorEndpoint?: () => string | undefined;
  /** The other hosts of the pool; absent on a host that has never had any. */
  readonly pool?: PoolLink;
  /** Hotfix support: internal sessions, hook limits, rolling update runs (src/updates/). */
  readonly updates?: UpdatesPort;
  /** This host's NBD server, as VDI.get_nbd_info announces it. */
  readonly nbd?: NbdEndpoint;
  /** Names of the network cards this host was configured with, management first (`eth0`). */
  readonly nics?: readonly string[];
  /**
   * Whether this host's API listener accepts connections at `ip`: the pool reaches a host
   * at its management address, so only such an address may become `host.address`.
   */
  readonly listensOn?: (ip: string) => boolean;
  /** Aborted when the toolstack stops: long polls (event.from) answer at once. */
  readonly stopping?: AbortSignal;
  /** This toolstack's recent log lines (host.get_log). */
  readonly recentLog?: () => string;
  /** The certificate this host serves the API with, in PEM form (host.get_server_certificate). */
  readonly serverCertificate?: () => string | undefined;
  /** The figures this host samples for itself and its VMs (host/VM.get_data_sources and friends). */
  readonly metrics?: DataSources;
  /** Where the toolstack's log lines go, by key and level (xe log-set-output). */
  readonly logControl?: LogControl;
  /** Call timings the dispatcher records (xe diagnostic-timing-stats). */
  readonly callStats?: CallStats;
  /** The data of the pool's blobs, kept on the master (the records are in the database). */
  readonly blobs?: BlobStore;
}

export interface ActionContext {
  readonly services: Services;
  readonly db: PoolDb;
  /** Undefined only for sessionless messages (login). */
  readonly session: SessionInfo | undefined;
  /** Present when the call runs asynchronously under a task. */
  readonly task: TaskHandle | undefined;
  /** The remote address of the caller, for login throttling and audit. */
  readonly peer: string;
}

export type ActionArgs = Record<string, unknown>;
export type Action = (ctx: ActionContext, args: ActionArgs) => unknown | Promise<unknown>;

/** Implementations of one class's explicit messages, keyed by message name. */
export type ClassActions = Readonly<Record<string, Action>>;
