/**
 * @module
 * A VM's place in an appliance: which appliance it belongs to, where it comes in the start
 * order, and how long an appliance start or shutdown pauses after it. The three numbers
 * were plain fields in XenServer 6.0.2, taken as given (a negative delay is no delay).
 * Control domains, templates and snapshots never belong to an appliance, as in xapi.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { isNullRef } from '../../core/ref.js';
import { updateApplianceAllowedOperations } from '../vm_appliance/appliance-operations.js';
import { getVm, updateVm } from './vm-operation-lock.js';

export const vmApplianceMembershipActions = {
  set_appliance: (ctx, a) => {
    const vm = getVm(ctx.db, a.self);
    if (vm.is_control_domain || vm.is_a_template || vm.is_a_snapshot) {
      throw new ApiError('OPERATION_NOT_ALLOWED', ['Control domains, templates and snapshots cannot be assigned to appliances.']);
    }
    if (!isNullRef(a.value) && !ctx.db.get('VM_appliance', a.value)) throw new ApiError('HANDLE_INVALID', ['VM_appliance', a.value]);
    ctx.db.transaction(() => {
      // The appliance it leaves may have lost the member that allowed an operation.
      const previous = vm.appliance;
      updateVm(ctx.db, a.self, { appliance: a.value });
      updateApplianceAllowedOperations(ctx.db, previous);
    });
    return '';
  },
  set_order: (ctx, a) => {
    getVm(ctx.db, a.self);
    ctx.db.update('VM', a.self, { order: a.value });
    return '';
  },
  set_start_delay: (ctx, a) => {
    getVm(ctx.db, a.self);
    ctx.db.update('VM', a.self, { start_delay: a.value });
    return '';
  },
  set_shutdown_delay: (ctx, a) => {
    getVm(ctx.db, a.self);
    ctx.db.update('VM', a.self, { shutdown_delay: a.value });
    return '';
  },
} satisfies ActionsOf<'VM'>;
