/**
 * @module
 * An in-memory pool for the rolling update runner's unit tests, enforcing what the real one
 * does: a reboot halts the VMs still on the host, a host down is neither live nor callable,
 * migration needs free memory on a live, enabled target, restarts move the host's clocks
 * forward. It records every migration so tests can check where VMs went and from where.
 */
import type { HostInfo, RollingPorts, RunState, VmPlace } from '../../../src/updates/rolling/runner.js';

export interface FakeHost {
  name: string;
  memory: number;
  live: boolean;
  enabled: boolean;
  bootTime: number;
  agentStartTime: number;
  applied: boolean;
}

export interface FakeVm {
  memory: number;
  host: string;
  running: boolean;
}

export class FakePool implements RollingPorts {
  readonly hosts = new Map<string, FakeHost>();
  readonly vms = new Map<string, FakeVm>();
  readonly migrations: Array<{ vm: string; from: string; to: string; fromUpdated: boolean; toUpdated: boolean }> = [];
  readonly events: string[] = [];
  saved: string | undefined;
  clock = 1000;
  /** Throws once when the named event is about to happen (`restart:B`, `migrate:vm3`…). */
  failOnce = new Set<string>();

  addHost(name: string, memory = 8): void {
    this.hosts.set(name, { name, memory, live: true, enabled: true, bootTime: 10, agentStartTime: 20, applied: false });
  }
  addVm(name: string, host: string, memory = 1): void {
    this.vms.set(name, { memory, host, running: true });
  }

  private trip(what: string): void {
    if (this.failOnce.delete(what)) throw new Error(`injected failure at ${what}`);
  }
  private host(h: string): FakeHost {
    const x = this.hosts.get(h);
    if (!x) throw new Error(`no host ${h}`);
    return x;
  }

  async hostInfo(h: string): Promise<HostInfo> {
    const x = this.host(h);
    return { live: x.live, enabled: x.enabled, bootTime: x.bootTime, agentStartTime: x.agentStartTime };
  }
  async runningVms(h: string): Promise<VmPlace[]> {
    return [...this.vms].filter(([, v]) => v.running && v.host === h).map(([vm, v]) => ({ vm, memory: v.memory }));
  }
  async vmHost(vm: string): Promise<string | undefined> {
    const v = this.vms.get(vm);
    return v?.running ? v.host : undefined;
  }
  async freeMemory(h: string): Promise<number> {
    const used = [...this.vms.values()].filter((v) => v.running && v.host === h).reduce((n, v) => n + v.memory, 0);
    return this.host(h).memory - used;
  }
  async disable(h: string): Promise<void> {
    this.trip(`disable:${h}`);
    this.host(h).enabled = false;
    this.events.push(`disable ${h}`);
  }
  async enable(h: string): Promise<void> {
    this.host(h).enabled = true;
    this.events.push(`enable ${h}`);
  }
  async migrate(vm: string, to: string): Promise<void> {
    this.trip(`migrate:${vm}`);
    const v = this.vms.get(vm)!;
    const t = this.host(to);
    if (!t.live || !t.enabled) throw new Error(`target ${to} not available`);
    if ((await this.freeMemory(to)) < v.memory) throw new Error(`no room on ${to}`);
    this.migrations.push({ vm, from: v.host, to, fromUpdated: this.host(v.host).applied, toUpdated: t.applied });
    v.host = to;
  }
  async apply(h: string): Promise<void> {
    this.trip(`apply:${h}`);
    if (!this.host(h).applied) this.events.push(`apply ${h}`);
    this.host(h).applied = true;
  }
  async restart(h: string, kind: 'host' | 'toolstack'): Promise<void> {
    this.trip(`restart:${h}`);
    const x = this.host(h);
    this.events.push(`${kind === 'host' ? 'reboot' : 'restart-toolstack'} ${h}`);
    this.clock += 10;
    if (kind === 'host') {
      for (const v of this.vms.values()) if (v.host === h) v.running = false;
      x.bootTime = this.clock;
    }
    x.agentStartTime = this.clock + 1;
  }
  async save(s: RunState): Promise<void> {
    this.saved = JSON.stringify(s);
  }
  async sleep(): Promise<void> {
    await new Promise((r) => setImmediate(r));
  }
}
