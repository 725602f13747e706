/**
 * @module
 * The hypervisor port: what the toolstack asks of the layer that holds a host's domains
 * (Xen + xenopsd on XenServer, the simulator process here). Domains live there, not in the
 * toolstack: they outlive a toolstack restart (a restarted toolstack reconnects and
 * reconciles with `list()`), and a host reboot or crash ends them all (`info().bootId`
 * changes). Domains are named by their VM's uuid; a VM has at most one domain per host.
 *
 * Failures are `HypervisorError`s with a typed code; the toolstack maps them to XenAPI
 * errors (NOT_ENOUGH_MEMORY → HOST_NOT_ENOUGH_FREE_MEMORY, BAD_STATE → VM_BAD_POWER_STATE…).
 */

export const DomainState = {
  running: 'running',
  paused: 'paused',
  /** The guest stopped itself and the domain waits for the toolstack to destroy it. */
  shutdown: 'shutdown',
} as const;
export type DomainState = (typeof DomainState)[keyof typeof DomainState];

/** Why a guest stopped itself (Xen's shutdown codes that reach the toolstack). */
export const ShutdownReason = { poweroff: 'poweroff', reboot: 'reboot', crash: 'crash' } as const;
export type ShutdownReason = (typeof ShutdownReason)[keyof typeof ShutdownReason];

/**
 * A virtual network card of a domain, as the backend sees it: the guest's slot, its
 * hardware address and the host bridge it is joined to. The simulator carries no packets;
 * it keeps the devices so that plugging and unplugging follow Xen's rules.
 */
export interface DomainNic {
  /** The VIF's device number, "0".."15". */
  readonly device: string;
  readonly mac: string;
  readonly bridge: string;
  readonly mtu?: number;
}

export interface DomainInfo {
  readonly vmUuid: string;
  /** Changes whenever the domain is rebuilt: reboot, resume, migration. */
  readonly domid: number;
  readonly state: DomainState;
  /** Bytes of guest memory (overhead excluded). */
  readonly memory: number;
  readonly vcpus: number;
  /** Epoch seconds when the guest booted; kept across suspend/resume and migration. */
  readonly startedAt: number;
  /** Identifies one boot of the guest: unchanged by pause, suspend/resume or migration. */
  readonly guestBootId: string;
  /** Set when `state` is `shutdown`. */
  readonly shutdownReason?: ShutdownReason;
  /** The network cards plugged into the domain now, in device order. */
  readonly nics?: readonly DomainNic[];
}

/** What a domain has used, for metrics (xcp-rrdd's per-VM sources). */
export interface DomainStats {
  readonly vmUuid: string;
  readonly state: DomainState;
  /** Bytes of guest memory. */
  readonly memory: number;
  /** CPU seconds used by each vCPU since the guest booted. */
  readonly cpuSeconds: readonly number[];
  /** True when the figures are modelled by a simulator rather than measured. */
  readonly simulated: boolean;
  /** Bytes each network card received and sent since the guest booted, by VIF device. */
  readonly nics?: readonly NicCounters[];
}

export interface NicCounters {
  readonly device: string;
  readonly rxBytes: number;
  readonly txBytes: number;
}

export interface HypervisorInfo {
  /** Bytes of host memory. */
  readonly memoryTotal: number;
  /** Bytes left for new domains, after every domain's memory and overhead. */
  readonly memoryFree: number;
  /** Bytes each domain costs beyond its own memory. */
  readonly memoryOverheadPerDomain?: number;
  /** Epoch seconds when this host booted. */
  readonly bootTime: number;
  /** New at every boot: a different value means every domain of before is gone. */
  readonly bootId: string;
  readonly cpus: number;
}

export interface CreateDomain {
  readonly vmUuid: string;
  readonly memory: number;
  readonly vcpus: number;
  /** Build the domain but do not run it (VM.start paused=true). */
  readonly paused?: boolean;
  /** Network cards the domain is built with (the VM's VIFs). */
  readonly nics?: readonly DomainNic[];
}

export interface SuspendResult {
  /** Where the image was written: the path the caller gave. */
  readonly path: string;
  readonly bytes: number;
}

export interface ResumeDomain {
  readonly vmUuid: string;
  /** A file written by `suspend` for the same VM. */
  readonly path: string;
  readonly paused?: boolean;
}

/** Where the destination host's hypervisor accepts an incoming migration. */
export interface MigrationDestination {
  readonly address: string;
  readonly port: number;
  /** One-time token from the destination's `prepareReceive`. */
  readonly token: string;
}

export interface MigrateOptions {
  /** Fraction of memory copied so far, 0..1, non-decreasing, ending with 1. */
  readonly onProgress?: (fraction: number) => void;
}

export const DomainEventKind = {
  created: 'created',
  destroyed: 'destroyed',
  shutdown: 'shutdown',
  rebooted: 'rebooted',
  paused: 'paused',
  unpaused: 'unpaused',
  suspended: 'suspended',
  resumed: 'resumed',
  migratedIn: 'migrated-in',
  migratedOut: 'migrated-out',
  /** The guest stopped itself (halt, reboot request, crash): see `domain.shutdownReason`. */
  guestShutdown: 'guest-shutdown',
} as const;
export type DomainEventKind = (typeof DomainEventKind)[keyof typeof DomainEventKind];

export interface DomainEvent {
  readonly kind: DomainEventKind;
  readonly vmUuid: string;
  /** The domain after the change; absent when it no longer exists on this host. */
  readonly domain?: DomainInfo;
}

export const HypervisorErrorCode = {
  notEnoughMemory: 'NOT_ENOUGH_MEMORY',
  alreadyExists: 'ALREADY_EXISTS',
  noSuchDomain: 'NO_SUCH_DOMAIN',
  badState: 'BAD_STATE',
  /** Another operation on this domain is still running (migration, clean shutdown…). */
  busy: 'BUSY',
  /** A clean operation needs the guest's PV drivers and the guest has none. */
  noGuestAgent: 'NO_GUEST_AGENT',
  /** The guest ignored a clean shutdown/reboot request. */
  notAcknowledged: 'NOT_ACKNOWLEDGED',
  /** The guest acknowledged but did not finish in time. */
  timeout: 'TIMEOUT',
  badImage: 'BAD_IMAGE',
  badToken: 'BAD_TOKEN',
  migrationFailed: 'MIGRATION_FAILED',
  /** The operation was abandoned because the domain was destroyed meanwhile. */
  cancelled: 'CANCELLED',
  invalidArgument: 'INVALID_ARGUMENT',
  /** A device is already plugged in that slot of the domain. */
  deviceExists: 'DEVICE_EXISTS',
  /** No device is plugged in that slot of the domain. */
  noSuchDevice: 'NO_SUCH_DEVICE',
  authFailed: 'AUTH_FAILED',
  /** The hypervisor cannot be reached (process gone, connection lost). */
  unavailable: 'UNAVAILABLE',
  internal: 'INTERNAL',
} as const;
export type HypervisorErrorCode = (typeof HypervisorErrorCode)[keyof typeof HypervisorErrorCode];

/**
 * Details that let the toolstack build the XenAPI error: NOT_ENOUGH_MEMORY carries
 * `needed`/`available`, BAD_STATE carries `expected`/`actual`.
 */
export type HypervisorErrorDetails = Readonly<Record<string, string | number | boolean>>;

export class HypervisorError extends Error {
  readonly code: HypervisorErrorCode;
  readonly details: HypervisorErrorDetails;
  constructor(code: HypervisorErrorCode, message: string, details: HypervisorErrorDetails = {}) {
    super(`${code}: ${message}`);
    this.name = 'HypervisorError';
    this.code = code;
    this.details = details;
  }
}

export function isHypervisorError(e: unknown, code?: HypervisorErrorCode): e is HypervisorError {
  return e instanceof HypervisorError && (code === undefined || e.code === code);
}

export interface Hypervisor {
  info(): Promise<HypervisorInfo>;
  /** Every domain on this host, in domid order. */
  list(): Promise<DomainInfo[]>;
  /** Per-domain resource use; optional, a driver without it gives no VM figures. */
  stats?(): Promise<DomainStats[]>;
  /** The hypervisor's console ring (`xl dmesg`); optional, a driver without one has none. */
  dmesg?(): Promise<string>;
  /** Presses debug keys on the hypervisor's console (`xl debug-keys`); their output lands in the ring. */
  debugKeys?(keys: string): Promise<void>;

  /** Builds and starts (or leaves paused) a domain for a VM. */
  create(spec: CreateDomain): Promise<DomainInfo>;
  /** Hard shutdown: the domain ends at once, in any state. */
  destroy(vmUuid: string): Promise<void>;
  /** Clean shutdown: asks the guest, which must acknowledge and halt within `timeoutMs`. */
  shutdown(vmUuid: string, opts: { timeoutMs: number }): Promise<void>;
  /** Clean reboot asks the guest (running only); hard reboot rebuilds at once. */
  reboot(vmUuid: string, opts: { clean: boolean; timeoutMs?: number }): Promise<DomainInfo>;
  pause(vmUuid: string): Promise<DomainInfo>;
  unpause(vmUuid: string): Promise<DomainInfo>;

  /** Hot-plugs a network card into a running or paused domain. */
  plugNic(vmUuid: string, nic: DomainNic): Promise<DomainInfo>;
  /**
   * Unplugs a network card. A clean unplug asks the guest, which needs its PV drivers for
   * that; a forced one pulls the device at once.
   */
  unplugNic(vmUuid: string, device: string, opts: { force: boolean }): Promise<DomainInfo>;

  /** Saves a running domain's state to `path` (on this host); the domain ends. */
  suspend(vmUuid: string, opts: { path: string }): Promise<SuspendResult>;
  /** Rebuilds a domain from a suspend image; the guest continues where it stopped. */
  resume(spec: ResumeDomain): Promise<DomainInfo>;

  /**
   * Destination side: allows one incoming migration of this VM and returns its token.
   * Memory is checked again when the migration arrives.
   */
  prepareReceive(vmUuid: string): Promise<string>;
  /**
   * Source side: live-migrates the domain. It keeps running here until the destination
   * runs it, then ends here. On failure it is still running here.
   */
  migrateSend(vmUuid: string, dest: MigrationDestination, opts?: MigrateOptions): Promise<void>;

  /**
   * Calls `onEvent` for every domain change from now on (none are replayed: after
   * connecting, reconcile with `list()`). Returns a function that stops the watch.
   */
  watch(onEvent: (e: DomainEvent) => void): Promise<() => void>;

  /** Lets go of the connection; the domains stay. */
  close(): Promise<void>;
}
