/**
 * @module
 * The older calls on a running VM's memory and CPU settings, with XenServer 6.0.2's
 * answers. Since dynamic memory control, a running VM's balloon target is the top of its
 * dynamic range (`set_memory_dynamic_range` moves it), so `set_memory_target_live` only
 * checks that the VM runs and changes nothing. `wait_memory_target_live` polls the
 * domain's memory on its host until it is within a mebibyte of that target, failing with
 * VM_MEMORY_TARGET_WAIT_TIMEOUT after xapi's 256 seconds; a guest that is not within it
 * is what `get_cooperative` calls uncooperative (a VM that is not running counts as
 * cooperative). The shadow multiplier of a running HVM guest is recorded as its new
 * setting. `add_to_VCPUs_params_live` is refused with NOT_IMPLEMENTED once the VM is known
 * to run, as xapi refuses it: scheduler parameters change through VCPUs_params and take
 * effect at the next start.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { Ref } from '../../core/ref.js';
import { findDomain } from './vm-boot.js';
import { getVm, withVmOperation } from './vm-operation-lock.js';

const MiB = 1024 * 1024;
/** How far memory may be from the target and still count as there, as xapi allows. */
const TOLERANCE_BYTES = MiB;
/** xapi's default wait before VM_MEMORY_TARGET_WAIT_TIMEOUT. */
const WAIT_TIMEOUT_S = 256;

/** Bytes the running VM's domain has and the target it is asked to balloon to. */
async function memoryNow(ctx: ActionContext, vm: Ref<'VM'>): Promise<{ actual: number; target: number }> {
  const row = getVm(ctx.db, vm);
  const d = await findDomain(ctx, vm, row.resident_on);
  return { actual: d?.memory ?? 0, target: Number(row.memory_dynamic_max) };
}

const reached = (m: { actual: number; target: number }) => Math.abs(m.actual - m.target) <= TOLERANCE_BYTES;

function isHvm(ctx: ActionContext, vm: Ref<'VM'>): boolean {
  const row = getVm(ctx.db, vm);
  if (row.domain_type === 'hvm') return true;
  if (row.domain_type === 'pv' || row.domain_type === 'pvh' || row.domain_type === 'pv_in_pvh') return false;
  return String(row.HVM_boot_policy ?? '') !== '';
}

async function waitMemoryTarget(ctx: ActionContext, vm: Ref<'VM'>, opRef: string): Promise<void> {
  for (let waited = 0; ; waited++) {
    if (waited > WAIT_TIMEOUT_S) throw new ApiError('VM_MEMORY_TARGET_WAIT_TIMEOUT', [opRef]);
    if (ctx.task?.signal.aborted) throw new ApiError('TASK_CANCELLED', [opRef]);
    const m = await memoryNow(ctx, vm);
    if (reached(m)) {
      // As xapi does once the target is reached: the metrics show the figure just read.
      const metrics = getVm(ctx.db, vm).metrics;
      if (ctx.db.get('VM_metrics', metrics)) ctx.db.update('VM_metrics', metrics, { memory_actual: m.actual });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export const vmLiveMemoryActions = {
  set_memory_target_live: async (ctx, a) => {
    await withVmOperation(ctx, a.self, 'changing_memory_live', async () => undefined);
    return '';
  },
  wait_memory_target_live: async (ctx, a) => {
    await withVmOperation(ctx, a.self, 'awaiting_memory_live', (opRef) => waitMemoryTarget(ctx, a.self, opRef));
    return '';
  },
  get_cooperative: async (ctx, a) => {
    if (getVm(ctx.db, a.self).power_state !== 'Running') return true;
    return reached(await memoryNow(ctx, a.self));
  },
  set_shadow_multiplier_live: async (ctx, a) => {
    await withVmOperation(ctx, a.self, 'changing_shadow_memory_live', async (_op, atRelease) => {
      const multiplier = Number(a.multiplier);
      if (!(multiplier >= 1)) throw new ApiError('INVALID_VALUE', ['multiplier', String(a.multiplier)]);
      // Shadow page tables are an HVM guest's; a paravirtualised guest has none to resize.
      if (!isHvm(ctx, a.self)) throw new ApiError('VM_HVM_REQUIRED', [a.self]);
      atRelease(() => ctx.db.update('VM', a.self, { HVM_shadow_multiplier: multiplier }));
    });
    return '';
  },
  add_to_VCPUs_params_live: async (ctx, a) => {
    await withVmOperation(ctx, a.self, 'changing_VCPUs_live', async () => {
      throw new ApiError('NOT_IMPLEMENTED', ['add_to_VCPUs_params_live']);
    });
    return '';
  },
} satisfies ActionsOf<'VM'>;
