/**
 * @module
 * A VM's protection policy. As in xapi 6.0.2, a control domain cannot be protected
 * (INVALID_VALUE naming the policy) nor can a template or a snapshot (VM_IS_TEMPLATE),
 * and a protected VM cannot be made into a template (VM_ASSIGNED_TO_PROTECTION_POLICY).
 * Leaving a policy (the null ref) is always allowed.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { isNullRef } from '../../core/ref.js';
import { getVm } from './vm-operation-lock.js';

export const vmProtectionActions = {
  set_protection_policy: (ctx, a) => {
    const vm = getVm(ctx.db, a.self);
    if (!isNullRef(a.value)) {
      if (!ctx.db.get('VMPP', a.value)) throw new ApiError('HANDLE_INVALID', ['VMPP', a.value]);
      if (vm.is_control_domain === true) throw new ApiError('INVALID_VALUE', [a.value]);
      if (vm.is_a_template === true) throw new ApiError('VM_IS_TEMPLATE', [a.self]);
    }
    ctx.db.update('VM', a.self, { protection_policy: a.value });
    return '';
  },
  set_is_a_template: (ctx, a) => {
    const vm = getVm(ctx.db, a.self);
    if (a.value === true) {
      if (!isNullRef(vm.appliance) && ctx.db.get('VM_appliance', vm.appliance)) {
        throw new ApiError('VM_IS_PART_OF_AN_APPLIANCE', [a.self, vm.appliance]);
      }
      if (!isNullRef(vm.protection_policy) && ctx.db.get('VMPP', vm.protection_policy)) {
        throw new ApiError('VM_ASSIGNED_TO_PROTECTION_POLICY', [a.self, vm.protection_policy]);
      }
    }
    ctx.db.update('VM', a.self, { is_a_template: a.value });
    return '';
  },
} satisfies ActionsOf<'VM'>;
