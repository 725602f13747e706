/**
 * @module
 * VM_appliance: groups of VMs started and stopped as one (`appliance-power.ts`), under an
 * operation lock of their own (`appliance-operations.ts`), and recovered together. The
 * generic create and destroy serve as xapi's do: a new appliance has no VMs, so no
 * operation is allowed on it yet, and destroying one leaves its VMs as they are.
 */
import type { ActionsOf } from '../../core/actions-of.js';
import type { Ref } from '../../core/ref.js';
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import { assertSessionTo, assertVmCanBeRecovered, recoverVms } from '../vm/vm-recovery.js';
import { startAppliance, stopAppliance } from './appliance-power.js';

function members(ctx: ActionContext, appliance: Ref<'VM_appliance'>): Ref<'VM'>[] {
  const row = ctx.db.get('VM_appliance', appliance);
  if (!row) throw new ApiError('HANDLE_INVALID', ['VM_appliance', appliance]);
  return row.VMs ?? [];
}

function assertCanBeRecovered(ctx: ActionContext, appliance: Ref<'VM_appliance'>, sessionTo: Ref<'session'>): void {
  const vms = members(ctx, appliance);
  assertSessionTo(ctx, sessionTo);
  for (const vm of vms) assertVmCanBeRecovered(ctx, vm, sessionTo);
}

export const vmApplianceActions = {
  start: (ctx, a) => startAppliance(ctx, a.self, a.paused),
  clean_shutdown: (ctx, a) => stopAppliance(ctx, a.self, 'clean_shutdown'),
  hard_shutdown: (ctx, a) => stopAppliance(ctx, a.self, 'hard_shutdown'),
  shutdown: (ctx, a) => stopAppliance(ctx, a.self, 'shutdown'),
  assert_can_be_recovered: (ctx, a) => {
    assertCanBeRecovered(ctx, a.self, a.session_to);
    return '';
  },
  // The appliance recovered is this one, under its own uuid, with the same members: only
  // the import's verdict on each VM can change the answer.
  recover: (ctx, a) => {
    assertCanBeRecovered(ctx, a.self, a.session_to);
    recoverVms(ctx, members(ctx, a.self), a.force);
    return '';
  },
} satisfies ActionsOf<'VM_appliance'>;
