/**
 * @module
 * `VM.pool_migrate`: live migration inside the pool. The destination host's hypervisor
 * is asked for a one-time token (and its figures, to check the VM fits), the source's
 * sends the running domain to it, and only once the destination runs it does the record
 * move (`resident_on`, `domid`). The VM's `power_state` is `Running` before, during and
 * after: the guest never stops, and its disks stay where they are, so every disk must be on
 * an SR the destination has plugged (a local SR of the source gives VM_REQUIRES_SR).
 */
import { ApiError } from '../../core/api-error.js';
import { NULL_REF, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { domainsOn } from '../host/host-domains.js';
import { mapHypervisorErrors } from '../common/hypervisor-errors.js';
import { findDomain, residentHost, vmUuid } from './vm-boot.js';
import { markRunning } from './vm-domain-state.js';
import { getVm, withVmOperation } from './vm-operation-lock.js';
import { assertCanBootHere, assertCanRunOn } from './vm-placement.js';
import { assertMigrationKeepsUpdates } from '../../updates/mixed-state.js';
import type { ActionsOf } from '../../core/actions-of.js';

/**
 * Moves the running VM to `dest`, under the VM's lock (taken with
 * `scheduled_to_be_resident_on` set); the new placement is written as the lock is released.
 */
async function migrateLocked(
  ctx: ActionContext, vm: Ref<'VM'>, dest: Ref<'host'>, opRef: string, atRelease: (w: () => void) => void,
): Promise<void> {
  const source = residentHost(ctx, vm);
  const uuid = vmUuid(ctx, vm);
  const site = { vm, host: source, source, destination: dest, task: opRef };
  let overhead: number;
  try {
    if (dest === source) throw new ApiError('OPERATION_NOT_ALLOWED', ['The VM already runs on that host']);
    assertCanRunOn(ctx.db, vm, dest);
    assertMigrationKeepsUpdates(ctx.db, vm, source, dest);
    const ticket = await mapHypervisorErrors({ ...site, host: dest }, () => domainsOn(ctx, dest).prepareReceive(uuid));
    await assertCanBootHere(ctx, vm, dest, { memory: true, info: ticket.info });
    overhead = ticket.info.memoryOverheadPerDomain ?? 0;
    await mapHypervisorErrors(site, () =>
      domainsOn(ctx, source).migrateSend(uuid, ticket.dest, (f) => ctx.task?.setProgress(f * 0.95)));
  } catch (e) {
    atRelease(() => ctx.db.update('VM', vm, { scheduled_to_be_resident_on: NULL_REF }));
    throw e;
  }
  const d = await findDomain(ctx, vm, dest);
  if (!d) throw new ApiError('VM_MIGRATE_FAILED', [vm, source, dest, 'the domain is not on the destination after the migration']);
  atRelease(() => markRunning(ctx.db, vm, dest, d, overhead));
}

/** `VM.pool_migrate` of a running VM to `dest`. */
export function poolMigrate(ctx: ActionContext, vm: Ref<'VM'>, dest: Ref<'host'>): Promise<void> {
  getVm(ctx.db, vm);
  return withVmOperation(ctx, vm, 'pool_migrate', (op, atRelease) => migrateLocked(ctx, vm, dest, op, atRelease),
    { scheduled_to_be_resident_on: dest });
}

export const vmMigrateActions = {
  pool_migrate: async (ctx, a) => {
    await poolMigrate(ctx, a.vm, a.host);
    return '';
  },
} satisfies ActionsOf<'VM'>;
