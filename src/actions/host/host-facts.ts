/**
 * @module
 * A host's facts about its own machine, kept in the database as XenServer keeps them:
 * `host.cpu_info` (the summary clients such as Xen Orchestra read for cores and sockets),
 * one `host_cpu` record per logical CPU with its utilisation, and `host_metrics.memory_free`.
 * Each host writes only its own records, at start and then every few seconds; a value is
 * written only when it moved, so an idle pool does not stream events.
 *
 * Memory: the domains run in the hypervisor simulator, whose size is the host's memory as
 * the pool sees it (`memory_total`); what is free is the smaller of what the simulator has
 * left and what the real machine has available once the simulated domains' memory is
 * counted as used, so a host never reports memory its machine does not have.
 */
import type { Services } from '../../core/action-context.js';
import type { CpuFacts, CpuTimes, Machine } from '../../core/ports/machine.js';
import { cpuUtilisation } from '../../core/cpu-utilisation.js';
import { isNullRef, newRef, newUuid, xapiDate } from '../../core/ref.js';
import { changedFields } from '../common/changed-fields.js';

const MiB = 1024 * 1024;

export function cpuInfoOf(cpus: readonly CpuFacts[]): Record<string, string> {
  const first = cpus[0];
  const sockets = new Set(cpus.map((c) => c.socket)).size || 1;
  return {
    cpu_count: String(cpus.length),
    socket_count: String(sockets),
    vendor: first?.vendor ?? '',
    speed: first ? first.speed.toFixed(3) : '0',
    modelname: first?.modelname ?? '',
    family: String(first?.family ?? 0),
    model: String(first?.model ?? 0),
    stepping: first?.stepping ?? '',
    flags: first?.flags ?? '',
  };
}

function sameMap(a: unknown, b: Record<string, string>): boolean {
  const x = (a ?? {}) as Record<string, string>;
  const ka = Object.keys(x);
  return ka.length === Object.keys(b).length && ka.every((k) => x[k] === b[k]);
}

/** Writes cpu_info and the host_cpu records of this host so they match `cpus`. */
export function recordCpus(services: Services, cpus: readonly CpuFacts[]): void {
  const { db, hostRef } = services;
  const host = db.get('host', hostRef);
  if (!host) return;
  const info = cpuInfoOf(cpus);
  const mine = db.all('host_cpu').filter(([, r]) => r.host === hostRef);
  const byNumber = new Map(mine.map(([ref, r]) => [Number(r.number), ref] as const));
  db.transaction(() => {
    if (!sameMap(host.cpu_info, info)) db.update('host', hostRef, { cpu_info: info });
    for (const c of cpus) {
      const row = {
        host: hostRef, number: c.number, vendor: c.vendor, speed: c.speed, modelname: c.modelname,
        family: c.family, model: c.model, stepping: c.stepping, flags: c.flags, features: '',
      };
      const ref = byNumber.get(c.number);
      byNumber.delete(c.number);
      if (!ref) db.create('host_cpu', newRef<'host_cpu'>(), { uuid: newUuid(), utilisation: 0, ...row });
      else {
        const old = db.get('host_cpu', ref)!;
        if (Object.keys(changedFields(old, row)).length > 0) db.update('host_cpu', ref, row);
      }
    }
    // CPUs the machine no longer has (a host moved to other hardware).
    for (const ref of byNumber.values()) db.remove('host_cpu', ref);
  });
}

/** Utilisation of each CPU between two readings of its times; 0 where nothing is known yet. */
export function utilisation(before: readonly CpuTimes[], after: readonly CpuTimes[]): number[] {
  return cpuUtilisation(before, after).map((u) => u ?? 0);
}

export function recordUtilisation(services: Services, util: readonly number[]): void {
  const { db, hostRef } = services;
  const mine = db.all('host_cpu').filter(([, r]) => r.host === hostRef);
  const changed = mine.filter(([, r]) => {
    const u = util[Number(r.number)];
    return u !== undefined && Math.abs(Number(r.utilisation ?? 0) - u) >= 0.01;
  });
  if (!changed.length) return;
  db.transaction(() => {
    for (const [ref, r] of changed) db.update('host_cpu', ref, { utilisation: Math.round(util[Number(r.number)]! * 1000) / 1000 });
  });
}

/** The memory this host has free for new domains, by the rule in the module header. */
export async function freeMemory(services: Services, machine: Machine): Promise<number | undefined> {
  const hv = services.hypervisor;
  const mem = await machine.memory();
  if (!hv) return mem.available;
  const [info, domains] = await Promise.all([hv.info(), hv.list()]);
  const held = domains.reduce((n, d) => n + d.memory + (info.memoryOverheadPerDomain ?? 0), 0);
  return Math.max(0, Math.min(info.memoryFree, mem.available - held));
}

export function recordMemoryFree(services: Services, free: number): void {
  const { db, hostRef } = services;
  const m = db.get('host', hostRef)?.metrics;
  if (!m || isNullRef(m)) return;
  const row = db.get('host_metrics', m);
  if (!row || Math.abs(Number(row.memory_free ?? -1) - free) < MiB) return;
  db.update('host_metrics', m, { memory_free: free, last_updated: xapiDate() });
}

/**
 * Records the machine's facts now, then keeps utilisation and free memory current until
 * `signal` aborts. Failures to read are logged once and retried at the next tick.
 */
export async function keepHostFacts(
  services: Services, machine: Machine, opts: { intervalMs?: number; signal: AbortSignal; log: (m: string) => void },
): Promise<void> {
  let complained = false;
  const quietly = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
      complained = false;
    } catch (e) {
      if (!complained) opts.log(`host facts: ${what}: ${e instanceof Error ? e.message : String(e)}`);
      complained = true;
    }
  };
  let times: CpuTimes[] = [];
  await quietly('CPUs', async () => {
    recordCpus(services, await machine.cpus());
    times = await machine.cpuTimes();
  });
  const tick = async () => {
    await quietly('utilisation', async () => {
      const now = await machine.cpuTimes();
      if (times.length) recordUtilisation(services, utilisation(times, now));
      times = now;
    });
    await quietly('memory', async () => {
      const free = await freeMemory(services, machine);
      if (free !== undefined) recordMemoryFree(services, free);
    });
  };
  await tick();
  const timer = setInterval(() => void tick(), opts.intervalMs ?? 5000);
  timer.unref();
  opts.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
