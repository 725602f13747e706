/**
 * @module
 * `host.management_reconfigure`: the host is managed through another of its interfaces
 * (the model, and why `host.address` only takes addresses the host serves at, are in
 * `pif/pif-management.ts`).
 */
import type { ActionsOf } from '../../core/actions-of.js';
import { managementReconfigure } from '../pif/pif-management.js';

export const hostManagementActions = {
  management_reconfigure: async (ctx, a) => {
    await managementReconfigure(ctx, a.pif);
    return '';
  },
} satisfies ActionsOf<'host'>;
