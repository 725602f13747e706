/**
 * @module
 * `host.management_reconfigure`: the host is managed through another of its interfaces
 * (the model, and why `host.address` only takes addresses the host serves at, are in
 * `pif/pif-management.ts`).
 */
import type { ActionArgs, ActionContext, ClassActions } from '../../core/action-context.js';
import type { Ref } from '../../core/ref.js';
import { managementReconfigure } from '../pif/pif-management.js';

export const hostManagementActions: ClassActions = {
  management_reconfigure: async (ctx: ActionContext, a: ActionArgs) => {
    await managementReconfigure(ctx, a.pif as Ref<'PIF'>);
    return '';
  },
};
