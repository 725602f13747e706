/**
 * @module
 * Suspend and resume. A suspended VM's memory is an image written by the hypervisor of
 * the host it ran on, into that host's data directory; the pool database remembers which
 * host and path. `VM.resume` prefers that host and otherwise places the VM as a start
 * would (hosts sharing the machine can read each other's images); the guest carries on
 * where it stopped, with the same boot.
 */
import { ApiError } from '../../core/api-error.js';
import { NULL_REF, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { domainsOn } from '../host/host-domains.js';
import { mapHypervisorErrors } from '../common/hypervisor-errors.js';
import { residentHost, vmUuid } from './vm-boot.js';
import { getSuspendImage, markRunning, markSuspended, setSuspendImage } from './vm-domain-state.js';
import { withVmOperation } from './vm-operation-lock.js';
import { assertCanBootHere, chooseHost, hostInfo } from './vm-placement.js';
import type { ActionsOf } from '../../core/actions-of.js';

async function suspend(ctx: ActionContext, vm: Ref<'VM'>, opRef: string): Promise<void> {
  const host = residentHost(ctx, vm);
  const uuid = vmUuid(ctx, vm);
  const img = await mapHypervisorErrors({ vm, host, task: opRef }, () => domainsOn(ctx, host).suspend(uuid));
  ctx.db.transaction(() => {
    setSuspendImage(ctx.db, uuid, { host, path: img.path });
    markSuspended(ctx.db, vm);
  });
}

async function resume(ctx: ActionContext, vm: Ref<'VM'>, on: Ref<'host'> | undefined, paused: boolean, opRef: string): Promise<void> {
  const uuid = vmUuid(ctx, vm);
  const img = getSuspendImage(ctx.db, uuid);
  if (!img) throw new ApiError('INTERNAL_ERROR', [`VM ${vm} is suspended but its memory image is unknown; hard shut it down`]);
  const host = on ?? (await chooseHost(ctx, vm, img.host));
  const info = await hostInfo(ctx, host);
  await assertCanBootHere(ctx, vm, host, { memory: true, info });
  ctx.db.update('VM', vm, { scheduled_to_be_resident_on: host });
  try {
    const d = await mapHypervisorErrors({ vm, host, task: opRef }, () => domainsOn(ctx, host).resume(uuid, img.path, paused));
    ctx.db.transaction(() => {
      setSuspendImage(ctx.db, uuid, undefined);
      markRunning(ctx.db, vm, host, d, info.memoryOverheadPerDomain ?? 0);
    });
  } catch (e) {
    if (ctx.db.get('VM', vm)?.power_state === 'Suspended') ctx.db.update('VM', vm, { scheduled_to_be_resident_on: NULL_REF });
    throw e;
  }
}

export const vmSuspendActions = {
  suspend: async (ctx, a) => {
    await withVmOperation(ctx, a.vm, 'suspend', (op) => suspend(ctx, a.vm, op));
    return '';
  },
  resume: async (ctx, a) => {
    const vm = a.vm;
    await withVmOperation(ctx, vm, 'resume', (op) => resume(ctx, vm, undefined, !!a.start_paused, op));
    return '';
  },
  resume_on: async (ctx, a) => {
    const vm = a.vm;
    await withVmOperation(ctx, vm, 'resume_on', (op) => resume(ctx, vm, a.host, !!a.start_paused, op));
    return '';
  },
} satisfies ActionsOf<'VM'>;
