/**
 * @module
 * What an action receives: the pool database, the caller's session, the task it runs
 * under (for async calls) and the host's services. Actions are plain functions from this
 * context and a named-argument object to a result, so they can be called from the wire,
 * from other actions and from tests alike.
 */
import type { Hypervisor } from '../core/ports/hypervisor.js';
import type { NbdEndpoint } from '../core/ports/nbd-endpoint.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import type { PoolLink } from '../core/ports/pool-link.js';
import type { StorageHost } from '../core/ports/storage-host.js';
import type { UpdatesPort } from '../core/ports/updates.js';
import type { Ref } from '../core/ref.js';
import type { Role } from '../datamodel/roles.js';

/** A logged-in session as the toolstack knows it (the DB row holds the public part). */
export interface SessionInfo {
  readonly ref: Ref<'session'>;
  readonly userName: string;
  readonly role: Role;
  readonly isLocalSuperuser: boolean;
  readonly originator: string;
  /** Pool-internal sessions (member to master) are not subject to idle expiry. */
  readonly internal: boolean;
  /**
   * For a session another host opened with its pool credential: that host's uuid and the
   * digest of the credential it proved, re-checked on every call (eject or re-issue ends it).
   */
  readonly poolHost?: { readonly uuid: string; readonly digest: string };
}

/** Progress and cancellation for work that runs under a task. */
export interface TaskHandle {
  readonly ref: Ref<'task'>;
  readonly signal: AbortSignal;
  setProgress(fraction: number): void;
}

/** Login and session bookkeeping, as the session actions need it. */
export interface SessionsPort {
  login(uname: string, pwd: string, originator: string, peer: string): Promise<SessionInfo>;
  logout(ref: string): void;
  logoutUser(name: string, except?: string): void;
  getUser(name: string): { name: string; hash: string; role: Role; subject?: string } | undefined;
  setUser(name: string, password: string, role: Role, subject?: string): Promise<void>;
  removeUser(name: string): void;
}

/** Task bookkeeping, as the task actions need it. */
export interface TasksPort {
  create(nameLabel: string, nameDescription: string, session?: Ref<'session'>): Ref<'task'>;
  cancel(ref: Ref<'task'>): void;
  destroy(ref: Ref<'task'>): void;
}

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
