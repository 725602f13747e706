/**
 * @module
 * HA planning as XenServer 6.0.2 answers it whether or not HA is on: which protected VMs
 * (always-run, with a restart priority other than best-effort) could be restarted, by
 * memory, on the live hosts left after some fail. Each VM needs its static maximum; each
 * surviving host offers its free memory; VMs are placed largest first on the first host
 * with room. A plan for n failures must hold for every choice of n failed hosts (for large
 * pools, the n hosts running the most protected memory). ha_prevent_restarts_for needs HA
 * running: HA_NOT_ENABLED.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { Ref } from '../../core/ref.js';
import { thePool } from '../host/on-host.js';

const PRIORITIES = new Set(['', 'best-effort', 'restart', '0', '1', '2', '3']);
const isProtected = (priority: string) => priority !== '' && priority !== 'best-effort';

interface Vm { ref: Ref<'VM'>; memory: number; on: Ref<'host'> | undefined }

function liveHosts(ctx: ActionContext): Map<Ref<'host'>, number> {
  const out = new Map<Ref<'host'>, number>();
  for (const [ref, h] of ctx.db.all('host')) {
    const m = ctx.db.get('host_metrics', h.metrics);
    if (m?.live === true) out.set(ref, Number(m.memory_free ?? 0));
  }
  return out;
}

function vmOf(ctx: ActionContext, ref: Ref<'VM'>): Vm {
  const r = ctx.db.get('VM', ref);
  if (!r) throw new ApiError('HANDLE_INVALID', ['VM', ref]);
  const running = r.power_state === 'Running' || r.power_state === 'Paused';
  return { ref, memory: Number(r.memory_static_max ?? 0), on: running ? r.resident_on : undefined };
}

/** First fit, largest first; the VMs that found no room. */
function place(vms: readonly Vm[], free: Map<Ref<'host'>, number>): { placed: Map<Ref<'VM'>, Ref<'host'>>; left: Vm[] } {
  const room = new Map(free);
  const placed = new Map<Ref<'VM'>, Ref<'host'>>();
  const left: Vm[] = [];
  for (const vm of [...vms].sort((x, y) => y.memory - x.memory)) {
    const host = [...room].find(([, m]) => m >= vm.memory)?.[0];
    if (host === undefined) { left.push(vm); continue; }
    room.set(host, room.get(host)! - vm.memory);
    placed.set(vm.ref, host);
  }
  return { placed, left };
}

function combinations<T>(xs: readonly T[], n: number, limit: number): T[][] | undefined {
  const out: T[][] = [];
  const go = (start: number, acc: T[]): boolean => {
    if (acc.length === n) { out.push([...acc]); return out.length <= limit; }
    for (let i = start; i < xs.length; i++) if (!go(i + 1, [...acc, xs[i]!])) return false;
    return true;
  };
  return go(0, []) ? out : undefined;
}

function planExists(ctx: ActionContext, vms: readonly Vm[], n: number): boolean {
  const live = liveHosts(ctx);
  const hosts = [...live.keys()];
  if (n === 0) return true;
  if (n >= hosts.length) return vms.length === 0;
  const load = (h: Ref<'host'>) => vms.filter((v) => v.on === h).reduce((s, v) => s + v.memory, 0);
  const choices = combinations(hosts, n, 1000) ?? [[...hosts].sort((x, y) => load(y) - load(x)).slice(0, n)];
  return choices.every((failed) => {
    const survivors = new Map([...live].filter(([h]) => !failed.includes(h)));
    const moving = vms.filter((v) => v.on === undefined || failed.includes(v.on));
    return place(moving, survivors).left.length === 0;
  });
}

function maxFailures(ctx: ActionContext, vms: readonly Vm[]): number {
  const hosts = liveHosts(ctx).size;
  let n = 0;
  while (n + 1 < hosts && planExists(ctx, vms, n + 1)) n++;
  return n;
}

function protectedVms(ctx: ActionContext): Vm[] {
  return ctx.db.all('VM')
    .filter(([, r]) => r.is_a_template !== true && r.is_control_domain !== true && r.ha_always_run === true && isProtected(String(r.ha_restart_priority ?? '')))
    .map(([ref]) => vmOf(ctx, ref));
}

export const poolHaPlanActions = {
  ha_compute_max_host_failures_to_tolerate: (ctx) => maxFailures(ctx, protectedVms(ctx)),
  ha_failover_plan_exists: (ctx, a) => planExists(ctx, protectedVms(ctx), Math.max(0, Number(a.n))),
  ha_compute_hypothetical_max_host_failures_to_tolerate: (ctx, a) => {
    for (const priority of Object.values(a.configuration)) {
      if (!PRIORITIES.has(priority)) throw new ApiError('INVALID_VALUE', ['ha_restart_priority', priority]);
    }
    const vms = Object.entries(a.configuration).filter(([, p]) => isProtected(p)).map(([vm]) => vmOf(ctx, vm as Ref<'VM'>));
    return maxFailures(ctx, vms);
  },
  ha_compute_vm_failover_plan: (ctx, a) => {
    const live = new Map([...liveHosts(ctx)].filter(([h]) => !a.failed_hosts.includes(h)));
    const out: Record<string, Record<string, string>> = {};
    const agile: Vm[] = [];
    for (const ref of a.failed_vms) {
      const vm = vmOf(ctx, ref);
      // A VM with a disk on storage only some hosts see cannot restart elsewhere.
      const local = ctx.db.all('VBD').some(([, b]) => b.VM === ref && ctx.db.get('SR', ctx.db.get('VDI', b.VDI)?.SR ?? '')?.shared === false);
      if (local) out[ref] = { error_code: 'HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED' };
      else agile.push(vm);
    }
    const { placed, left } = place(agile, live);
    for (const vm of left) out[vm.ref] = { error_code: 'HOST_NOT_ENOUGH_FREE_MEMORY' };
    for (const [vm, host] of placed) out[vm] = { host };
    return out;
  },
  ha_prevent_restarts_for: (ctx) => {
    if (thePool(ctx)[1].ha_enabled !== true) throw new ApiError('HA_NOT_ENABLED', []);
    return '';
  },
} satisfies ActionsOf<'pool'>;
