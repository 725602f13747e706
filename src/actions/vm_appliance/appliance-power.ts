/**
 * @module
 * Starting and stopping an appliance's VMs, as xapi's VM_appliance does: only the members
 * not already in the state the operation leads to are acted on; they are grouped by their
 * `order`, groups taken lowest first for a start and highest first for a shutdown; the
 * VMs of one group are acted on together and the next group waits until all of them have
 * finished (each VM's own start or shutdown waits its `start_delay` or `shutdown_delay`,
 * which is what spaces the groups). One VM failing does not stop the others; at the end,
 * the members that did not reach the state make OPERATION_PARTIALLY_FAILED, naming the
 * operation and them.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { Ref } from '../../core/ref.js';
import type { VmApplianceOperation } from '../../datamodel/enums.js';
import { vmPowerActions } from '../vm/vm-power.js';
import { withApplianceOperation } from './appliance-operations.js';

interface Operation {
  readonly op: VmApplianceOperation;
  /** The power state the operation leaves each VM in. */
  readonly target: 'Running' | 'Paused' | 'Halted';
  readonly startFirst: boolean;
  readonly onVm: (ctx: ActionContext, vm: Ref<'VM'>) => Promise<unknown>;
}

/** The VMs grouped by `order`, in the order the groups are acted on. */
function groupsByOrder(ctx: ActionContext, vms: readonly Ref<'VM'>[], ascending: boolean): Ref<'VM'>[][] {
  const byOrder = new Map<number, Ref<'VM'>[]>();
  for (const vm of vms) {
    const order = Number(ctx.db.get('VM', vm)?.order ?? 0);
    byOrder.set(order, [...(byOrder.get(order) ?? []), vm]);
  }
  const orders = [...byOrder.keys()].sort((a, b) => (ascending ? a - b : b - a));
  return orders.map((o) => byOrder.get(o)!);
}

const powerState = (ctx: ActionContext, vm: Ref<'VM'>) => String(ctx.db.get('VM', vm)?.power_state ?? '');

async function perform(ctx: ActionContext, appliance: Ref<'VM_appliance'>, o: Operation): Promise<string> {
  await withApplianceOperation(ctx, appliance, o.op, async () => {
    const members = ctx.db.get('VM_appliance', appliance)?.VMs ?? [];
    const todo = members.filter((vm) => powerState(ctx, vm) !== o.target);
    for (const group of groupsByOrder(ctx, todo, o.startFirst)) {
      // A member's failure shows in its power state at the end, as xapi ignores its task's.
      await Promise.allSettled(group.map((vm) => o.onVm(ctx, vm)));
    }
    const failed = todo.filter((vm) => powerState(ctx, vm) !== o.target);
    if (failed.length > 0) throw new ApiError('OPERATION_PARTIALLY_FAILED', [`VM_appliance.${o.op}`, ...failed]);
  });
  return '';
}

export function startAppliance(ctx: ActionContext, appliance: Ref<'VM_appliance'>, paused: boolean): Promise<string> {
  return perform(ctx, appliance, {
    op: 'start', target: paused ? 'Paused' : 'Running', startFirst: true,
    onVm: (c, vm) => vmPowerActions.start(c, { vm, start_paused: paused, force: false }),
  });
}

export function stopAppliance(ctx: ActionContext, appliance: Ref<'VM_appliance'>, op: 'clean_shutdown' | 'hard_shutdown' | 'shutdown'): Promise<string> {
  return perform(ctx, appliance, {
    op, target: 'Halted', startFirst: false,
    onVm: (c, vm) => vmPowerActions[op](c, { vm }),
  });
}
