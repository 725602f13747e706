/**
 * @module
 * The rolling update runner: a state machine that takes one host at a time through
 * disable → evacuate → apply → restart → wait → enable → return → done, saving its state
 * after every step (and before it issues a restart), so that a runner started again from the
 * saved state, after any crash or after the master's own restart, carries on from the step
 * it was in. Every step is idempotent for that reason: evacuating an empty host, applying an
 * applied update, enabling an enabled host do nothing; a restart is only issued again when
 * the host's boot (or toolstack start) time shows it has not happened.
 *
 * It touches nothing itself: all effects go through `RollingPorts`, so the runner is
 * unit-tested with fakes and driven in production by the XenAPI adapter (`xapi-ports.ts`).
 * While it evacuates a host it sends VMs to hosts the run has already updated when they
 * have room, then to others; never from an updated host to one that is not.
 */
import { ApiError } from '../../core/api-error.js';
import type { RestartKind } from './plan.js';

export const STEPS = ['pending', 'disable', 'evacuate', 'apply', 'restart', 'wait', 'enable', 'return', 'done'] as const;
export type Step = (typeof STEPS)[number] | 'skipped';

export interface HostRun {
  readonly host: string;
  readonly name: string;
  step: Step;
  /** Boot or toolstack start time before the restart was issued. */
  t0?: number;
  issued?: boolean;
}

export interface RunState {
  readonly restart: RestartKind;
  readonly evacuate: boolean;
  readonly batch: number;
  readonly waitTimeoutMs: number;
  readonly hosts: HostRun[];
  /** Running VMs moved off a host, and that host: where they go back to. */
  readonly vmHomes: Record<string, string>;
}

export interface HostInfo {
  readonly live: boolean;
  readonly enabled: boolean;
  readonly bootTime: number;
  readonly agentStartTime: number;
}

export interface VmPlace {
  readonly vm: string;
  readonly memory: number;
}

export interface RollingPorts {
  hostInfo(host: string): Promise<HostInfo>;
  /** Running VMs resident on a host. */
  runningVms(host: string): Promise<VmPlace[]>;
  /** Where a VM runs now; undefined when it is gone or not running. */
  vmHost(vm: string): Promise<string | undefined>;
  freeMemory(host: string): Promise<number>;
  disable(host: string): Promise<void>;
  enable(host: string): Promise<void>;
  migrate(vm: string, host: string): Promise<void>;
  apply(host: string): Promise<void>;
  restart(host: string, kind: Exclude<RestartKind, 'none'>): Promise<void>;
  save(state: RunState): Promise<void>;
  sleep(ms: number): Promise<void>;
  log?(msg: string): void;
}

export class RunAborted extends Error {
  constructor() {
    super('rolling update aborted');
    this.name = 'RunAborted';
  }
}

/** Fraction of the run done, counting each host's steps. */
export function runProgress(s: RunState): number {
  const per = STEPS.length - 1;
  const done = s.hosts.reduce((n, h) => n + (h.step === 'skipped' ? per : STEPS.indexOf(h.step as (typeof STEPS)[number])), 0);
  return s.hosts.length ? done / (s.hosts.length * per) : 1;
}

const POLL_MS = 250;

export class RollingRunner {
  constructor(
    private readonly s: RunState,
    private readonly p: RollingPorts,
    private readonly signal?: AbortSignal,
  ) {}

  get state(): RunState {
    return this.s;
  }

  /** Runs to the end; throws the error that stopped it (the state says where). */
  async run(): Promise<void> {
    for (const h of this.s.hosts) {
      while (h.step !== 'done' && h.step !== 'skipped') {
        this.checkAbort();
        await this.stepOnce(h);
        await this.p.save(this.s);
      }
    }
  }

  private checkAbort(): void {
    if (this.signal?.aborted) throw new RunAborted();
  }

  /** Hosts this run has finished or found up to date: VMs may go there from anywhere. */
  private updatedHosts(): Set<string> {
    return new Set(this.s.hosts.filter((h) => h.step === 'done' || h.step === 'skipped').map((h) => h.host));
  }

  private async stepOnce(h: HostRun): Promise<void> {
    switch (h.step) {
      case 'pending':
        h.step = 'disable';
        return;
      case 'disable':
        await this.p.disable(h.host);
        h.step = this.s.evacuate ? 'evacuate' : 'apply';
        return;
      case 'evacuate':
        await this.evacuate(h);
        h.step = 'apply';
        return;
      case 'apply':
        await this.p.apply(h.host);
        h.step = this.s.restart === 'none' ? 'enable' : 'restart';
        return;
      case 'restart':
        await this.restart(h);
        h.step = 'wait';
        return;
      case 'wait':
        await this.waitBack(h);
        h.step = 'enable';
        return;
      case 'enable':
        await this.p.enable(h.host);
        h.step = 'return';
        return;
      case 'return':
        await this.returnVms(h);
        h.step = 'done';
        return;
      default:
        return;
    }
  }

  private clockOf(i: HostInfo): number {
    return this.s.restart === 'host' ? i.bootTime : i.agentStartTime;
  }

  private async restart(h: HostRun): Promise<void> {
    const kind = this.s.restart as Exclude<RestartKind, 'none'>;
    const info = await this.p.hostInfo(h.host);
    if (h.t0 === undefined) {
      h.t0 = this.clockOf(info);
      h.issued = false;
      // Saved before issuing: whoever resumes must be able to tell whether it happened.
      await this.p.save(this.s);
    } else if (this.clockOf(info) > h.t0) {
      return; // it happened (this very process may be the restarted one)
    }
    try {
      await this.p.restart(h.host, kind);
    } catch (e) {
      // A host already going down (a restart issued before a crash) cannot take another.
      const again = await this.p.hostInfo(h.host).catch(() => undefined);
      if (!h.issued || (again?.live ?? false)) throw e;
    }
    h.issued = true;
  }

  private async waitBack(h: HostRun): Promise<void> {
    const deadline = Date.now() + this.s.waitTimeoutMs;
    for (;;) {
      this.checkAbort();
      const info = await this.p.hostInfo(h.host).catch(() => undefined);
      if (info && info.live && this.clockOf(info) > (h.t0 ?? -1)) return;
      if (Date.now() > deadline) {
        throw new ApiError('HOST_OFFLINE', [h.host]);
      }
      await this.p.sleep(POLL_MS);
    }
  }

  /** Picks a target for a VM: updated hosts first, then others, by most free memory. */
  private async place(vm: VmPlace, from: string, reserved: Map<string, number>): Promise<string | undefined> {
    const updated = this.updatedHosts();
    const candidates: Array<{ host: string; free: number; updated: boolean }> = [];
    for (const other of this.s.hosts.map((x) => x.host)) {
      if (other === from || candidates.some((c) => c.host === other)) continue;
      const info = await this.p.hostInfo(other).catch(() => undefined);
      if (!info?.live || !info.enabled) continue;
      const free = (await this.p.freeMemory(other)) - (reserved.get(other) ?? 0);
      if (free >= vm.memory) candidates.push({ host: other, free, updated: updated.has(other) });
    }
    candidates.sort((a, b) => (a.updated !== b.updated ? (a.updated ? -1 : 1) : b.free - a.free));
    return candidates[0]?.host;
  }

  private async evacuate(h: HostRun): Promise<void> {
    const vms = await this.p.runningVms(h.host);
    for (const v of vms) this.s.vmHomes[v.vm] ??= h.host;
    await this.p.save(this.s);
    const reserved = new Map<string, number>();
    const moves: Array<{ vm: string; to: string }> = [];
    for (const v of vms) {
      const to = await this.place(v, h.host, reserved);
      if (!to) throw new ApiError('CANNOT_EVACUATE_HOST', [`VM ${v.vm}: no live, enabled host has ${v.memory} bytes free`]);
      reserved.set(to, (reserved.get(to) ?? 0) + v.memory);
      moves.push({ vm: v.vm, to });
    }
    await this.inBatches(moves, (m) => this.p.migrate(m.vm, m.to));
    const left = await this.p.runningVms(h.host);
    if (left.length) throw new ApiError('CANNOT_EVACUATE_HOST', [`${left.length} VM(s) still running on ${h.name}`]);
  }

  private async returnVms(h: HostRun): Promise<void> {
    const mine = Object.entries(this.s.vmHomes).filter(([, home]) => home === h.host).map(([vm]) => vm);
    const moves: string[] = [];
    for (const vm of mine) {
      const at = await this.p.vmHost(vm);
      if (at !== undefined && at !== h.host) moves.push(vm);
    }
    await this.inBatches(moves, async (vm) => {
      let last: unknown;
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await this.p.migrate(vm, h.host);
          return;
        } catch (e) {
          last = e;
          await this.p.sleep(1000);
        }
      }
      throw last;
    });
    for (const vm of mine) delete this.s.vmHomes[vm];
  }

  private async inBatches<T>(items: readonly T[], fn: (x: T) => Promise<void>): Promise<void> {
    let next = 0;
    let failure: unknown;
    const lane = async () => {
      while (next < items.length && failure === undefined) {
        const item = items[next++]!;
        this.checkAbort();
        try {
          await fn(item);
        } catch (e) {
          failure ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.s.batch, items.length) }, lane));
    if (failure !== undefined) throw failure;
  }
}
