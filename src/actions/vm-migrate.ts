/**
 * @module
 * `VM.pool_migrate`: live migration inside the pool. The destination host's hypervisor
 * is asked for a one-time token, the source's sends the running domain to it, and only
 * once the destination runs it does the record move (`resident_on`, `domid`). The VM's
 * `power_state` is `Running` before, during and after: the guest never stops, and its
 * disks stay where they are, so every disk must be on an SR the destination has plugged
 * (a local SR of the source gives VM_REQUIRES_SR).
 */
import { ApiError } from '../core/api-error.js';
import type { Ref } from '../core/ref.js';
import type { ActionContext, ClassActions } from './context.js';
import { domainsOn } from './host-domains.js';
import { mapHypervisorErrors } from './hypervisor-errors.js';
import { findDomain, residentHost, vmUuid } from './vm-boot.js';
import { markRunning } from './vm-domain-state.js';
import { getVm, withVmOperation } from './vm-operation-lock.js';
import { assertCanBootHere, hostInfo } from './vm-placement.js';
import { NULL_REF } from '../core/ref.js';

/** The checks `pool_migrate` makes before moving anything (state and lock aside). */
export async function assertCanPoolMigrate(ctx: ActionContext, vm: Ref<'VM'>, dest: Ref<'host'>): Promise<void> {
  const source = residentHost(ctx, vm);
  if (dest === source) throw new ApiError('OPERATION_NOT_ALLOWED', ['The VM already runs on that host']);
  await assertCanBootHere(ctx, vm, dest, { memory: true });
}

/** Moves the running VM to `dest`; the VM must be locked by the caller. */
export async function migrateLocked(ctx: ActionContext, vm: Ref<'VM'>, dest: Ref<'host'>, opRef: string): Promise<void> {
  const source = residentHost(ctx, vm);
  await assertCanPoolMigrate(ctx, vm, dest);
  const uuid = vmUuid(ctx, vm);
  const overhead = (await hostInfo(ctx, dest)).memoryOverheadPerDomain ?? 0;
  const site = { vm, host: source, source, destination: dest, task: opRef };
  ctx.db.update('VM', vm, { scheduled_to_be_resident_on: dest });
  try {
    const token = await mapHypervisorErrors({ ...site, host: dest }, () => domainsOn(ctx, dest).prepareReceive(uuid));
    await mapHypervisorErrors(site, () =>
      domainsOn(ctx, source).migrateSend(uuid, token, (f) => ctx.task?.setProgress(f * 0.95)));
  } catch (e) {
    ctx.db.update('VM', vm, { scheduled_to_be_resident_on: NULL_REF });
    throw e;
  }
  const d = await findDomain(ctx, vm, dest);
  if (!d) throw new ApiError('VM_MIGRATE_FAILED', [vm, source, dest, 'the domain is not on the destination after the migration']);
  markRunning(ctx.db, vm, dest, d, overhead);
}

export const vmMigrateActions: ClassActions = {
  pool_migrate: async (ctx, a) => {
    const vm = a.vm as Ref<'VM'>;
    getVm(ctx.db, vm);
    await withVmOperation(ctx, vm, 'pool_migrate', (op) => migrateLocked(ctx, vm, a.host as Ref<'host'>, op));
    return '';
  },
};
