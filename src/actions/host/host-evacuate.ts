/**
 * @module
 * Emptying a host before maintenance. The plan places every VM running on the host on
 * one of the other live, enabled hosts, largest VMs first onto the host with the most free
 * memory left, after checking what would stop each VM from moving at all (its state or
 * operations, disks on SRs the targets cannot see, too many vCPUs). `host.evacuate` then
 * live-migrates the VMs with at most `evacuate_batch_size` migrations in flight, starting
 * the next as soon as one ends (xapi's default is 10), reporting progress on its task.
 * `assert_can_evacuate` and `get_vms_which_prevent_evacuation` report the plan's
 * failures in xapi's two encodings. Failures that are not XenAPI refusals (a storage
 * adapter's typed error, a bug) are thrown as they are, so that the API's boundary maps
 * them (`core/wire-errors.ts`), as it maps every other action's.
 */
import { ApiError, type ErrorCode } from '../../core/api-error.js';
import type { HypervisorInfo } from '../../core/ports/hypervisor.js';
import { newRef, type Ref } from '../../core/ref.js';
import { vmOperationError } from '../../core/vm-operations.js';
import type { ActionContext } from '../../core/action-context.js';
import { poolMigrate } from '../vm/vm-migrate.js';
import { getVm, vmOpView } from '../vm/vm-operation-lock.js';
import { assertCanRunOn, costOn, hostInfo, hostIsLive, vmNeeds } from '../vm/vm-placement.js';
import type { ActionsOf } from '../../core/actions-of.js';

export const DEFAULT_EVACUATE_BATCH_SIZE = 10;

type Step = { readonly to: Ref<'host'> } | { readonly error: readonly [ErrorCode, readonly string[]] };
export type EvacuationPlan = Map<Ref<'VM'>, Step>;

export function vmsOn(ctx: ActionContext, host: Ref<'host'>): Ref<'VM'>[] {
  return ctx.db.all('VM')
    .filter(([, r]) => r.resident_on === host && !r.is_control_domain && !r.is_a_template)
    .map(([ref]) => ref);
}

/** A refusal as the plan reports it; anything else is no refusal and fails the call as itself. */
function errorOf(e: unknown): readonly [ErrorCode, readonly string[]] {
  if (e instanceof ApiError) return [e.code, e.params];
  throw e;
}

export async function evacuationPlan(ctx: ActionContext, host: Ref<'host'>): Promise<EvacuationPlan> {
  const db = ctx.db;
  const plan: EvacuationPlan = new Map();
  const vms = vmsOn(ctx, host);
  const candidates = db.all('host').map(([h]) => h)
    .filter((h) => h !== host && hostIsLive(db, h) && !!db.get('host', h)?.enabled);
  const infos = new Map<Ref<'host'>, HypervisorInfo>();
  await Promise.all(candidates.map(async (h) => {
    try { infos.set(h, await hostInfo(ctx, h)); } catch { /* unreachable: not a target */ }
  }));
  const targets = candidates.filter((h) => infos.has(h));
  if (targets.length === 0) {
    for (const vm of vms) plan.set(vm, { error: ['NO_HOSTS_AVAILABLE', [vm]] });
    return plan;
  }
  const movable: Array<{ vm: Ref<'VM'>; memory: number }> = [];
  for (const vm of vms) {
    const row = getVm(db, vm);
    const opErr = vmOperationError(vm, vmOpView(row), 'pool_migrate');
    if (opErr) { plan.set(vm, { error: opErr }); continue; }
    try {
      const needs = vmNeeds(vm, row);
      for (const t of targets) {
        assertCanRunOn(db, vm, t);
        const cpus = infos.get(t)!.cpus;
        if (needs.vcpus > cpus) throw new ApiError('HOST_NOT_ENOUGH_PCPUS', [String(needs.vcpus), String(cpus)]);
      }
      movable.push({ vm, memory: needs.memory });
    } catch (e) {
      plan.set(vm, { error: errorOf(e) });
    }
  }
  const free = new Map(targets.map((t) => [t, infos.get(t)!.memoryFree]));
  movable.sort((a, b) => b.memory - a.memory);
  for (const { vm, memory } of movable) {
    let best: Ref<'host'> | undefined;
    for (const t of targets) {
      const cost = costOn({ memory, vcpus: 1 }, infos.get(t)!);
      if (cost <= free.get(t)! && (best === undefined || free.get(t)! > free.get(best)!)) best = t;
    }
    if (!best) { plan.set(vm, { error: ['HOST_NOT_ENOUGH_FREE_MEMORY', [vm]] }); continue; }
    free.set(best, free.get(best)! - costOn({ memory, vcpus: 1 }, infos.get(best)!));
    plan.set(vm, { to: best });
  }
  return plan;
}

function planErrors(plan: EvacuationPlan): Array<[Ref<'VM'>, readonly [ErrorCode, readonly string[]]]> {
  const out: Array<[Ref<'VM'>, readonly [ErrorCode, readonly string[]]]> = [];
  for (const [vm, step] of plan) if ('error' in step) out.push([vm, step.error]);
  return out;
}

/** Runs `fn` on every item with at most `n` running at once, in order of start. */
export async function windowed<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

async function withHostOperation<T>(ctx: ActionContext, host: Ref<'host'>, op: 'evacuate', fn: () => Promise<T>): Promise<T> {
  const opRef = ctx.task?.ref ?? newRef<'task'>();
  const row = ctx.db.get('host', host);
  if (!row) throw new ApiError('HANDLE_INVALID', ['host', host]);
  const cur = row.current_operations ?? {};
  const [other] = Object.entries(cur);
  if (other) throw new ApiError('OTHER_OPERATION_IN_PROGRESS', ['host', host, other[1], other[0]]);
  ctx.db.update('host', host, { current_operations: { ...cur, [opRef]: op } });
  try {
    return await fn();
  } finally {
    const now = { ...ctx.db.get('host', host)?.current_operations };
    delete now[opRef];
    if (ctx.db.get('host', host)) ctx.db.update('host', host, { current_operations: now });
  }
}

async function evacuate(ctx: ActionContext, host: Ref<'host'>, batchSize: number): Promise<void> {
  await withHostOperation(ctx, host, 'evacuate', async () => {
    const plan = await evacuationPlan(ctx, host);
    const [blocked] = planErrors(plan);
    if (blocked) throw new ApiError(blocked[1][0], [...blocked[1][1]]);
    const moves = [...plan].map(([vm, step]) => [vm, (step as { to: Ref<'host'> }).to] as const);
    const n = Math.max(1, Math.abs(Math.trunc(batchSize)) || DEFAULT_EVACUATE_BATCH_SIZE);
    let done = 0;
    let failed: { readonly error: unknown } | undefined;
    // The migrations report no progress of their own: the evacuation's task counts VMs.
    const quiet: ActionContext = { ...ctx, task: undefined };
    await windowed(moves, n, async ([vm, to]) => {
      try {
        await poolMigrate(quiet, vm, to);
      } catch (e) {
        // A VM shut down meanwhile no longer needs moving.
        if (!(e instanceof ApiError && e.code === 'VM_BAD_POWER_STATE')) failed ??= { error: e };
      }
      ctx.task?.setProgress(++done / moves.length);
    });
    if (failed) throw failed.error;
    const left = vmsOn(ctx, host);
    if (left.length > 0) throw new ApiError('INTERNAL_ERROR', [`evacuate: ${left.length} VMs are still resident on ${host}`]);
  });
}

export const hostEvacuateActions = {
  evacuate: async (ctx, a) => {
    await evacuate(ctx, a.host, Number(a.evacuate_batch_size ?? 0));
    return '';
  },
  assert_can_evacuate: async (ctx, a) => {
    const errors = planErrors(await evacuationPlan(ctx, a.host));
    if (errors.length > 0) {
      throw new ApiError('CANNOT_EVACUATE_HOST', [errors.map(([, [code, params]]) => [code, ...params].join(',')).join('|')]);
    }
    return '';
  },
  get_vms_which_prevent_evacuation: async (ctx, a) => {
    const out: Record<string, string[]> = {};
    for (const [vm, [code, params]] of planErrors(await evacuationPlan(ctx, a.self))) out[vm] = [code, ...params];
    return out;
  },
} satisfies ActionsOf<'host'>;
