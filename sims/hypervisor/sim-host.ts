/**
 * @module
 * One simulated host's hypervisor: its domains, memory and the rules Xen and xenopsd
 * enforce (one domain per VM, no overcommit, operations only from the right state, one
 * operation per domain at a time, a hard stop always possible). It implements the
 * `Hypervisor` port in-process; the simulator process serves it over the wire, and tests
 * may also use it directly. Guest-initiated behaviour (halting, rebooting, crashing, being
 * slow or deaf to requests) is driven through `configureGuest` and `guestShutdown`.
 */
import { randomUUID } from 'node:crypto';
import {
  DomainEventKind, HypervisorError, HypervisorErrorCode, ShutdownReason,
  type CreateDomain, type DomainEvent, type DomainNic, type DomainStats, type DomainInfo, type Hypervisor, type HypervisorInfo,
  type MigrateOptions, type MigrationDestination, type ResumeDomain, type SuspendResult,
} from '../../src/core/ports/hypervisor.js';
import { defaultGuest, type GuestBehaviour, type MigratingDomain } from '../../src/hypervisor/sim-protocol.js';
import { ConsoleRing } from './console-ring.js';
import { DomainTable, exclusive, nowSeconds, requireIdle, requireState, snapshot, type Domain } from './domain-table.js';
import { MemoryLedger } from './memory-ledger.js';
import { sendDomain } from './migration-send.js';
import { MigrationTokens } from './migration-tokens.js';
import { requestGuestHalt } from './simulated-guest.js';
import { readSuspendImage, writeSuspendImage } from './suspend-image.js';

export interface SimHostOptions {
  /** Bytes of host memory. */
  readonly memory: number;
  readonly cpus: number;
  readonly overheadPerDomain: number;
  /** MiB/s a live migration copies; 0 copies instantly. */
  readonly migrationRateMiBs: number;
  /** Epoch seconds; defaults to now. */
  readonly bootTime?: number;
}

/** An accepted incoming migration, holding its memory until committed or dropped. */
export interface IncomingMigration {
  commit(): DomainInfo;
  abort(): void;
}

const CLEAN_REBOOT_TIMEOUT_MS = 60_000;

function invalid(what: string): never {
  throw new HypervisorError(HypervisorErrorCode.invalidArgument, what);
}

function checkSpec(vmUuid: unknown, memory: unknown, vcpus: unknown): void {
  if (typeof vmUuid !== 'string' || !vmUuid) invalid('vmUuid must be a non-empty string');
  if (!Number.isSafeInteger(memory) || (memory as number) <= 0) invalid('memory must be a positive integer of bytes');
  if (!Number.isSafeInteger(vcpus) || (vcpus as number) <= 0) invalid('vcpus must be a positive integer');
}

/** Xen's netfront takes devices 0..15 in this toolstack's VMs (xapi allows as many). */
const NIC_DEVICE = /^(?:[0-9]|1[0-5])$/;
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

function checkNic(n: unknown): DomainNic {
  const o = (n && typeof n === 'object' ? n : {}) as Record<string, unknown>;
  if (typeof o.device !== 'string' || !NIC_DEVICE.test(o.device)) invalid(`bad network device ${JSON.stringify(o.device)}`);
  if (typeof o.mac !== 'string' || !MAC.test(o.mac)) invalid(`bad MAC ${JSON.stringify(o.mac)}`);
  if (typeof o.bridge !== 'string' || !o.bridge) invalid('a network card needs a bridge');
  const mtu = typeof o.mtu === 'number' && o.mtu > 0 ? { mtu: o.mtu } : {};
  return { device: o.device, mac: o.mac.toLowerCase(), bridge: o.bridge, ...mtu };
}

function checkNics(list: unknown): DomainNic[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) invalid('nics must be a list');
  const out = list.map(checkNic);
  const seen = new Set<string>();
  for (const n of out) {
    if (seen.has(n.device)) invalid(`network device ${n.device} given twice`);
    seen.add(n.device);
  }
  return out;
}

/** The debug keys the simulated Xen answers, with the description Xen prints for each. */
const DEBUG_KEYS: Record<string, string> = {
  h: 'showing help',
  q: 'dumping domain (and guest debug) info',
  r: 'dumping run queues',
  t: 'display multi-cpu clock info',
  m: 'memory info',
  '0': 'dump Dom0 registers',
};

export class SimHost implements Hypervisor {
  readonly bootId = randomUUID();
  readonly bootTime: number;
  private readonly table = new DomainTable();
  private readonly ledger: MemoryLedger;
  private readonly tokens = new MigrationTokens();
  /** VMs arriving by migration: they count as present for `create` and `resume`. */
  private readonly arriving = new Set<string>();
  private readonly watchers = new Set<(e: DomainEvent) => void>();
  private readonly console: ConsoleRing;

  constructor(readonly options: SimHostOptions) {
    this.ledger = new MemoryLedger(options.memory, options.overheadPerDomain);
    this.bootTime = options.bootTime ?? nowSeconds();
    this.console = new ConsoleRing(this.bootTime * 1000);
    this.console.write('Xen (Islet hypervisor simulator)');
    this.console.write(`System RAM: ${Math.floor(options.memory / 1048576)}MB (${Math.floor(options.memory / 1024)}kB)`);
    this.console.write(`Brought up ${options.cpus} CPUs`);
    this.console.write(`Scheduling granularity: cpu, ${options.cpus} CPU${options.cpus === 1 ? '' : 's'} per sched-resource`);
  }

  /** The console ring (`xl dmesg`). */
  async dmesg(): Promise<string> {
    return this.console.read();
  }

  /**
   * `xl debug-keys`: each key Xen knows writes what it was asked for to the console ring,
   * headed by the line Xen prints for a key press; keys Xen has no handler for are ignored.
   */
  async debugKeys(keys: string): Promise<void> {
    for (const key of keys) {
      const what = DEBUG_KEYS[key];
      if (!what) continue;
      this.console.write(`'${key}' pressed -> ${what}`);
      if (key === 'h') for (const [k, d] of Object.entries(DEBUG_KEYS)) this.console.write(` key '${k}' - ${d}`);
      if (key === 'q') {
        for (const d of await this.list()) this.console.write(`General information for domain ${d.domid}: vm ${d.vmUuid}`);
      }
    }
  }

  async info(): Promise<HypervisorInfo> {
    return {
      memoryTotal: this.ledger.total, memoryFree: this.ledger.free,
      memoryOverheadPerDomain: this.ledger.overheadPerDomain,
      bootTime: this.bootTime, bootId: this.bootId, cpus: this.options.cpus,
    };
  }

  async list(): Promise<DomainInfo[]> {
    return this.table.list().map(snapshot);
  }

  async create(spec: CreateDomain): Promise<DomainInfo> {
    checkSpec(spec.vmUuid, spec.memory, spec.vcpus);
    const nics = checkNics(spec.nics);
    this.requireAbsent(spec.vmUuid);
    this.ledger.reserve(spec.vmUuid, spec.memory);
    const d = this.table.add({
      vmUuid: spec.vmUuid, state: spec.paused ? 'paused' : 'running', memory: spec.memory, vcpus: spec.vcpus,
      startedAt: nowSeconds(), guest: defaultGuest, nics,
    });
    return this.emit(DomainEventKind.created, d);
  }

  async destroy(vmUuid: string): Promise<void> {
    const d = this.table.get(vmUuid);
    this.drop(d);
    this.emit(DomainEventKind.destroyed, d);
  }

  async shutdown(vmUuid: string, opts: { timeoutMs: number }): Promise<void> {
    const d = this.table.get(vmUuid);
    requireState(d, 'running');
    await exclusive(d, 'clean_shutdown', (signal) =>
      requestGuestHalt(d, 'poweroff', opts.timeoutMs, signal, this.lateHalt));
    this.drop(d);
    this.emit(DomainEventKind.shutdown, d);
  }

  async reboot(vmUuid: string, opts: { clean: boolean; timeoutMs?: number }): Promise<DomainInfo> {
    const d = this.table.get(vmUuid);
    if (opts.clean) {
      requireState(d, 'running');
      await exclusive(d, 'clean_reboot', (signal) =>
        requestGuestHalt(d, 'reboot', opts.timeoutMs ?? CLEAN_REBOOT_TIMEOUT_MS, signal, this.lateHalt));
    } else {
      requireState(d, 'running', 'paused', 'shutdown');
      // A hard reboot overrides a clean request still waiting on the guest, as in xapi.
      if (d.busy?.op.startsWith('clean_')) {
        d.busy.cancel.abort();
        delete d.busy;
      } else {
        requireIdle(d);
      }
    }
    this.table.rebuild(d);
    return this.emit(DomainEventKind.rebooted, d);
  }

  async pause(vmUuid: string): Promise<DomainInfo> {
    const d = this.table.get(vmUuid);
    requireState(d, 'running');
    requireIdle(d);
    d.state = 'paused';
    return this.emit(DomainEventKind.paused, d);
  }

  async unpause(vmUuid: string): Promise<DomainInfo> {
    const d = this.table.get(vmUuid);
    requireState(d, 'paused');
    requireIdle(d);
    d.state = 'running';
    return this.emit(DomainEventKind.unpaused, d);
  }

  async plugNic(vmUuid: string, nic: DomainNic): Promise<DomainInfo> {
    const d = this.table.get(vmUuid);
    const n = checkNic(nic);
    requireState(d, 'running', 'paused');
    requireIdle(d);
    if (d.nics.has(n.device)) {
      throw new HypervisorError(HypervisorErrorCode.deviceExists,
        `VM ${vmUuid} already has network device ${n.device}`, { vmUuid, device: n.device });
    }
    d.nics.set(n.device, n);
    return snapshot(d);
  }

  async unplugNic(vmUuid: string, device: string, opts: { force: boolean }): Promise<DomainInfo> {
    const d = this.table.get(vmUuid);
    requireState(d, 'running', 'paused');
    requireIdle(d);
    if (!d.nics.has(String(device))) {
      throw new HypervisorError(HypervisorErrorCode.noSuchDevice,
        `VM ${vmUuid} has no network device ${String(device)}`, { vmUuid, device: String(device) });
    }
    // A clean unplug is a request the guest's netfront must answer; a paused guest cannot.
    if (!opts?.force && (!d.guest.pvDrivers || d.state !== 'running')) {
      throw new HypervisorError(HypervisorErrorCode.noGuestAgent,
        `the guest of VM ${vmUuid} cannot release network device ${device}`, { vmUuid });
    }
    d.nics.delete(String(device));
    return snapshot(d);
  }

  async suspend(vmUuid: string, opts: { path: string }): Promise<SuspendResult> {
    const d = this.table.get(vmUuid);
    requireState(d, 'running');
    if (typeof opts?.path !== 'string' || !opts.path) invalid('path must name the image file');
    if (!d.guest.pvDrivers) {
      throw new HypervisorError(HypervisorErrorCode.noGuestAgent, `the guest of VM ${vmUuid} has no PV drivers`, { vmUuid });
    }
    const bytes = await exclusive(d, 'suspend', () => writeSuspendImage(opts.path, this.carry(d)));
    this.drop(d);
    this.emit(DomainEventKind.suspended, d);
    return { path: opts.path, bytes };
  }

  async resume(spec: ResumeDomain): Promise<DomainInfo> {
    const img = await readSuspendImage(spec.path);
    if (img.vmUuid !== spec.vmUuid) {
      throw new HypervisorError(HypervisorErrorCode.badImage,
        `${spec.path} holds VM ${img.vmUuid}, not ${spec.vmUuid}`, { path: spec.path, vmUuid: spec.vmUuid });
    }
    this.requireAbsent(spec.vmUuid);
    this.ledger.reserve(spec.vmUuid, img.memory);
    const d = this.table.add({ ...img, state: spec.paused ? 'paused' : 'running' });
    return this.emit(DomainEventKind.resumed, d);
  }

  async prepareReceive(vmUuid: string): Promise<string> {
    if (typeof vmUuid !== 'string' || !vmUuid) invalid('vmUuid must be a non-empty string');
    return this.tokens.issue(vmUuid);
  }

  async migrateSend(vmUuid: string, dest: MigrationDestination, opts: MigrateOptions = {}): Promise<void> {
    const d = this.table.get(vmUuid);
    requireState(d, 'running', 'paused');
    if (!dest || typeof dest.address !== 'string' || typeof dest.token !== 'string') invalid('destination needs address, port and token');
    await exclusive(d, 'migrate', (signal) =>
      sendDomain({ ...this.carry(d), state: d.state as 'running' | 'paused' }, dest,
        this.options.migrationRateMiBs, (f) => opts.onProgress?.(f), signal));
    this.drop(d);
    this.emit(DomainEventKind.migratedOut, d);
  }

  async watch(onEvent: (e: DomainEvent) => void): Promise<() => void> {
    this.watchers.add(onEvent);
    return () => { this.watchers.delete(onEvent); };
  }

  /** The host goes down: every domain ends, silently. */
  async close(): Promise<void> {
    this.table.clear();
    this.watchers.clear();
  }

  /** Changes how a domain's simulated guest behaves from now on. */
  /** CPU time each domain's vCPUs have used so far, accrued at the guest's configured load. */
  private readonly cpuUse = new Map<string, { guestBootId: string; seconds: number; at: number; netBytes: number }>();

  private accrue(d: Domain, now: number): number {
    let u = this.cpuUse.get(d.vmUuid);
    if (!u || u.guestBootId !== d.guestBootId) {
      u = { guestBootId: d.guestBootId, seconds: 0, at: Math.max(d.startedAt, now - 1), netBytes: 0 };
      this.cpuUse.set(d.vmUuid, u);
    }
    if (d.state === 'running') {
      u.seconds += Math.max(0, now - u.at) * (d.guest.cpuLoad ?? 0);
      u.netBytes += Math.max(0, now - u.at) * (d.guest.netRate ?? 0);
    }
    u.at = now;
    return u.seconds;
  }

  /** Per-domain figures for metrics: memory from the ledger, CPU time modelled (simulated). */
  async stats(): Promise<DomainStats[]> {
    const now = Date.now() / 1000;
    const live = new Set<string>();
    const out = this.table.list().map((d) => {
      live.add(d.vmUuid);
      const perVcpu = this.accrue(d, now);
      // Each card moves the guest's modelled rate both ways; counters restart with the guest.
      const bytes = Math.floor(this.cpuUse.get(d.vmUuid)?.netBytes ?? 0);
      const nics = [...d.nics.values()].map((n) => ({ device: n.device, rxBytes: bytes, txBytes: bytes }));
      return { vmUuid: d.vmUuid, state: d.state, memory: d.memory, cpuSeconds: Array.from({ length: d.vcpus }, () => perVcpu), simulated: true, nics };
    });
    for (const k of this.cpuUse.keys()) if (!live.has(k)) this.cpuUse.delete(k);
    return out;
  }

  configureGuest(vmUuid: string, behaviour: Partial<GuestBehaviour>): DomainInfo {
    const d = this.table.get(vmUuid);
    this.accrue(d, Date.now() / 1000);
    d.guest = { ...d.guest, ...behaviour };
    return snapshot(d);
  }

  /** The guest halts, asks to reboot or crashes on its own. */
  guestShutdown(vmUuid: string, reason: ShutdownReason): DomainInfo {
    if (!Object.values(ShutdownReason).includes(reason)) invalid(`unknown shutdown reason ${String(reason)}`);
    const d = this.table.get(vmUuid);
    requireState(d, 'running');
    requireIdle(d);
    d.state = 'shutdown';
    d.shutdownReason = reason;
    return this.emit(DomainEventKind.guestShutdown, d);
  }

  /** Destination side: checks and reserves for a migration presented with `token`. */
  acceptIncoming(token: unknown, dom: MigratingDomain): IncomingMigration {
    checkSpec(dom?.vmUuid, dom?.memory, dom?.vcpus);
    const nics = checkNics(dom.nics);
    this.tokens.consume(token, dom.vmUuid);
    this.requireAbsent(dom.vmUuid);
    const key = `incoming:${dom.vmUuid}`;
    this.ledger.reserve(key, dom.memory);
    this.arriving.add(dom.vmUuid);
    let open = true;
    const finish = () => { open = false; this.arriving.delete(dom.vmUuid); };
    return {
      commit: () => {
        if (!open) throw new HypervisorError(HypervisorErrorCode.migrationFailed, 'migration already finished');
        finish();
        this.ledger.rename(key, dom.vmUuid);
        const d = this.table.add({ ...dom, nics, state: dom.state === 'paused' ? 'paused' : 'running' });
        return this.emit(DomainEventKind.migratedIn, d);
      },
      abort: () => {
        if (!open) return;
        finish();
        this.ledger.release(key);
      },
    };
  }

  private readonly lateHalt = (d: Domain, reason: ShutdownReason): void => {
    if (this.table.find(d.vmUuid) === d && d.state === 'running' && !d.busy) this.guestShutdown(d.vmUuid, reason);
  };

  private requireAbsent(vmUuid: string): void {
    if (this.table.has(vmUuid) || this.arriving.has(vmUuid)) {
      throw new HypervisorError(HypervisorErrorCode.alreadyExists, `VM ${vmUuid} already has a domain on this host`, { vmUuid });
    }
  }

  private carry(d: Domain): Omit<MigratingDomain, 'state'> {
    return { vmUuid: d.vmUuid, memory: d.memory, vcpus: d.vcpus, startedAt: d.startedAt, guestBootId: d.guestBootId, guest: d.guest, nics: [...d.nics.values()] };
  }

  private drop(d: Domain): void {
    this.table.remove(d);
    this.ledger.release(d.vmUuid);
  }

  private emit(kind: DomainEventKind, d: Domain): DomainInfo {
    const present = this.table.find(d.vmUuid) === d;
    const info = snapshot(d);
    this.console.write(`d${info.domid}: ${kind} (VM ${d.vmUuid}${present ? `, ${Math.floor(info.memory / 1048576)} MiB, ${info.vcpus} vCPU${info.vcpus === 1 ? '' : 's'}` : ''})`);
    const e: DomainEvent = present ? { kind, vmUuid: d.vmUuid, domain: info } : { kind, vmUuid: d.vmUuid };
    for (const w of this.watchers) {
      try { w(e); } catch { /* a watcher's failure is its own */ }
    }
    return info;
  }
}
