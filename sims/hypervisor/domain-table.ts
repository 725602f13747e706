/**
 * @module
 * The simulated hypervisor's domains, held in memory only: they end with the process, as
 * Xen's end with the host. Besides what `DomainInfo` shows, each domain carries its
 * simulated guest's behaviour, the operation in progress on it (operations on one domain
 * do not overlap, except a hard stop that cancels them) and a signal that fires when the
 * domain ends, so that waits on it stop.
 */
import { randomUUID } from 'node:crypto';
import {
  HypervisorError, HypervisorErrorCode,
  type DomainInfo, type DomainNic, type DomainState, type ShutdownReason,
} from '../../src/core/ports/hypervisor.js';
import type { GuestBehaviour } from '../../src/hypervisor/sim-protocol.js';

export interface Busy {
  readonly op: string;
  /** Aborted by a hard stop of the domain; the operation then fails CANCELLED. */
  readonly cancel: AbortController;
}

export interface Domain {
  readonly vmUuid: string;
  domid: number;
  state: DomainState;
  readonly memory: number;
  readonly vcpus: number;
  startedAt: number;
  guestBootId: string;
  shutdownReason?: ShutdownReason;
  guest: GuestBehaviour;
  /** Plugged network cards by device; they stay across reboots, as the VM's VIFs do. */
  readonly nics: Map<string, DomainNic>;
  busy?: Busy;
  /** Aborted when the domain ends or is rebuilt (reboot): guest timers watch it. */
  life: AbortController;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function snapshot(d: Domain): DomainInfo {
  return {
    vmUuid: d.vmUuid, domid: d.domid, state: d.state, memory: d.memory, vcpus: d.vcpus,
    startedAt: d.startedAt, guestBootId: d.guestBootId,
    ...(d.shutdownReason ? { shutdownReason: d.shutdownReason } : {}),
    nics: [...d.nics.values()].sort((a, b) => Number(a.device) - Number(b.device)),
  };
}

export class DomainTable {
  private readonly byUuid = new Map<string, Domain>();
  /** Xen numbers domains from 1 (0 is dom0) and never reuses a number within a boot. */
  private lastDomid = 0;

  has(vmUuid: string): boolean {
    return this.byUuid.has(vmUuid);
  }

  find(vmUuid: string): Domain | undefined {
    return this.byUuid.get(vmUuid);
  }

  get(vmUuid: string): Domain {
    const d = this.byUuid.get(vmUuid);
    if (!d) throw new HypervisorError(HypervisorErrorCode.noSuchDomain, `no domain for VM ${vmUuid}`, { vmUuid });
    return d;
  }

  list(): Domain[] {
    return [...this.byUuid.values()].sort((a, b) => a.domid - b.domid);
  }

  nextDomid(): number {
    return ++this.lastDomid;
  }

  add(init: Omit<Domain, 'domid' | 'life' | 'guestBootId' | 'nics'> & { guestBootId?: string; nics?: readonly DomainNic[] }): Domain {
    if (this.byUuid.has(init.vmUuid)) throw new Error(`domain for ${init.vmUuid} exists`);
    const nics = new Map((init.nics ?? []).map((n) => [n.device, { ...n }] as const));
    const d: Domain = { ...init, nics, guestBootId: init.guestBootId ?? randomUUID(), domid: this.nextDomid(), life: new AbortController() };
    this.byUuid.set(d.vmUuid, d);
    return d;
  }

  /** Removes a domain and stops everything that waits on it. */
  remove(d: Domain): void {
    if (this.byUuid.get(d.vmUuid) !== d) return;
    this.byUuid.delete(d.vmUuid);
    d.busy?.cancel.abort();
    d.life.abort();
  }

  /** Rebuilds a domain for a new boot of its guest: new domid, new boot id, running. */
  rebuild(d: Domain): void {
    d.life.abort();
    d.life = new AbortController();
    d.domid = this.nextDomid();
    d.state = 'running';
    d.startedAt = nowSeconds();
    d.guestBootId = randomUUID();
    delete d.shutdownReason;
  }

  /** Ends every domain: the host goes down. */
  clear(): void {
    for (const d of [...this.byUuid.values()]) this.remove(d);
  }
}

export function requireState(d: Domain, ...allowed: DomainState[]): void {
  if (!allowed.includes(d.state)) {
    throw new HypervisorError(HypervisorErrorCode.badState,
      `domain of VM ${d.vmUuid} is ${d.state}, needs ${allowed.join(' or ')}`,
      { vmUuid: d.vmUuid, expected: allowed.join(','), actual: d.state });
  }
}

export function requireIdle(d: Domain): void {
  if (d.busy) {
    throw new HypervisorError(HypervisorErrorCode.busy,
      `domain of VM ${d.vmUuid} is busy with ${d.busy.op}`, { vmUuid: d.vmUuid, op: d.busy.op });
  }
}

/**
 * Runs `fn` as the domain's one operation in progress. `fn` gets a signal aborted when a
 * hard stop cancels it; it must then give up.
 */
export async function exclusive<T>(d: Domain, op: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  requireIdle(d);
  const busy: Busy = { op, cancel: new AbortController() };
  d.busy = busy;
  try {
    return await fn(busy.cancel.signal);
  } catch (e) {
    if (busy.cancel.signal.aborted && !(e instanceof HypervisorError && e.code === HypervisorErrorCode.cancelled)) {
      throw new HypervisorError(HypervisorErrorCode.cancelled, `${op} of VM ${d.vmUuid} cancelled by a hard stop`, { vmUuid: d.vmUuid });
    }
    throw e;
  } finally {
    if (d.busy === busy) delete d.busy;
  }
}
