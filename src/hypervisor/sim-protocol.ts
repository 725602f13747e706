/**
 * @module
 * The hypervisor simulator's wire protocol, shared by the simulator and its client.
 * JSON lines over TCP (hosts may sit in different network namespaces) or a unix socket.
 * A client sends `{id, method, params}`; the simulator answers `{id, result}` or
 * `{id, error}`, may send `{id, progress}` before the answer of a long call, and pushes
 * `{event}` lines to connections that asked to `watch`.
 *
 * A connection first authenticates: `hello {secret}` with the host's shared secret (the
 * file `secret` in the simulator's state directory), or, between simulators,
 * `migrate.incoming {token, domain}` with a one-time token from `prepareReceive`.
 */
import {
  HypervisorError, HypervisorErrorCode,
  type DomainNic, type DomainState, type HypervisorErrorDetails,
} from '../core/ports/hypervisor.js';

/** Methods of an authenticated toolstack connection, mirroring the `Hypervisor` port. */
export const SimMethod = {
  hello: 'hello',
  info: 'info',
  list: 'list',
  create: 'create',
  destroy: 'destroy',
  shutdown: 'shutdown',
  reboot: 'reboot',
  pause: 'pause',
  unpause: 'unpause',
  plugNic: 'nic.plug',
  unplugNic: 'nic.unplug',
  suspend: 'suspend',
  resume: 'resume',
  prepareReceive: 'prepareReceive',
  migrateSend: 'migrateSend',
  watch: 'watch',
  stats: 'stats',
  dmesg: 'dmesg',
  debugKeys: 'debugKeys',
  /** Simulator control, standing for what a guest does on its own. */
  guestConfigure: 'guest.configure',
  guestShutdown: 'guest.shutdown',
  /** Simulator to simulator: opens an incoming migration (token-authenticated). */
  migrateIncoming: 'migrate.incoming',
  /** The source has copied everything: the destination starts the domain. */
  migrateCommit: 'migrate.commit',
} as const;
export type SimMethod = (typeof SimMethod)[keyof typeof SimMethod];

export interface SimRequest {
  readonly id: number;
  readonly method: string;
  readonly params?: Record<string, unknown>;
}

export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly details?: HypervisorErrorDetails;
}

/** How a simulated guest behaves when the toolstack asks it something. */
export interface GuestBehaviour {
  /** Without PV drivers a guest cannot be asked to shut down, reboot or suspend. */
  readonly pvDrivers: boolean;
  /** Whether the guest acknowledges a clean shutdown/reboot request at all. */
  readonly acknowledges: boolean;
  /** How long the guest takes to halt once it acknowledged. */
  readonly shutdownMs: number;
  /** Fraction of each vCPU the simulated guest keeps busy (its CPU figures are modelled, not measured). */
  readonly cpuLoad?: number;
  /** Bytes per second each simulated network card receives and sends (modelled, not measured). */
  readonly netRate?: number;
}

export const defaultGuest: GuestBehaviour = { pvDrivers: true, acknowledges: true, shutdownMs: 0, cpuLoad: 0.04, netRate: 2048 };

/** What travels from source to destination simulator in a migration. */
export interface MigratingDomain {
  readonly vmUuid: string;
  readonly state: Exclude<DomainState, 'shutdown'>;
  readonly memory: number;
  readonly vcpus: number;
  readonly startedAt: number;
  readonly guestBootId: string;
  readonly guest: GuestBehaviour;
  readonly nics?: readonly DomainNic[];
}

const codes = new Set<string>(Object.values(HypervisorErrorCode));

export function errorToWire(e: unknown): WireError {
  if (e instanceof HypervisorError) {
    const prefix = `${e.code}: `;
    const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    return { code: e.code, message, details: e.details };
  }
  return { code: HypervisorErrorCode.internal, message: e instanceof Error ? e.message : String(e) };
}

export function errorFromWire(w: WireError): HypervisorError {
  const code = codes.has(w.code) ? (w.code as HypervisorErrorCode) : HypervisorErrorCode.internal;
  return new HypervisorError(code, w.message, w.details ?? {});
}

export type SimAddress = { readonly host: string; readonly port: number } | { readonly path: string };

/** Parses `HOST:PORT`, `[V6]:PORT` or `unix:PATH`. */
export function parseSimAddress(s: string): SimAddress {
  if (s.startsWith('unix:')) return { path: s.slice('unix:'.length) };
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s);
  if (!m) throw new HypervisorError(HypervisorErrorCode.invalidArgument, `bad address ${JSON.stringify(s)}`);
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

export function formatSimAddress(a: SimAddress): string {
  if ('path' in a) return `unix:${a.path}`;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The name of the shared-secret file inside a simulator's state directory. */
export const SECRET_FILE = 'secret';
/** Where a running simulator records the address it serves, for a restarted toolstack. */
export const ADDRESS_FILE = 'address';
