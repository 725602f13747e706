/**
 * @module
 * VM.checkpoint: a snapshot that keeps the running VM's memory. As xapi does it, the VM is
 * suspended (its memory saved to an image of its own, apart from the VM's suspend image),
 * its disks are snapshotted while nothing writes to them, and it is resumed where it
 * stopped. The checkpoint is a snapshot whose power state is Suspended; reverting to it
 * leaves the VM suspended with that image, so resuming continues from the checkpoint.
 */
import { ApiError } from '../../core/api-error.js';
import { newUuid, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { domainsOn } from '../host/host-domains.js';
import { mapHypervisorErrors } from '../common/hypervisor-errors.js';
import { residentHost, vmUuid } from './vm-boot.js';
import { makeVm } from './vm-disks.js';
import { markRunning, markSuspended, setSuspendImage } from './vm-domain-state.js';
import { getVm, withVmOperation } from './vm-operation-lock.js';
import { type MessageArgs, type ActionsOf } from '../../core/actions-of.js';

const passThrough = (e: unknown) => e instanceof ApiError && (e.code === 'TASK_CANCELLED' || e.code === 'HOST_OFFLINE');

async function checkpoint(ctx: ActionContext, a: MessageArgs<'VM', 'checkpoint'>): Promise<Ref<'VM'>> {
  const vmRef = a.vm;
  const first = getVm(ctx.db, vmRef);
  if (first.is_a_template === true) throw new ApiError('VM_IS_TEMPLATE', [vmRef]);
  let made: Ref<'VM'> | undefined;
  await withVmOperation(ctx, vmRef, 'checkpoint', async (opRef) => {
    const row = getVm(ctx.db, vmRef);
    // The memory of a suspended VM is its suspend image, which a later suspend rewrites.
    if (row.power_state === 'Suspended') throw new ApiError('VM_BAD_POWER_STATE', [vmRef, 'running, paused', 'suspended']);
    const host = residentHost(ctx, vmRef);
    const uuid = vmUuid(ctx, vmRef);
    const wasPaused = row.power_state === 'Paused';
    let path: string;
    try {
      path = (await mapHypervisorErrors({ vm: vmRef, host, task: opRef }, () => domainsOn(ctx, host).suspend(uuid, newUuid()))).path;
    } catch (e) {
      if (passThrough(e)) throw e;
      throw new ApiError('VM_CHECKPOINT_SUSPEND_FAILED', [vmRef]);
    }
    ctx.task?.setProgress(0.3);
    try {
      made = await makeVm(ctx, vmRef, 'snapshot', String(a.new_name));
      const snapUuid = String(getVm(ctx.db, made).uuid);
      ctx.db.transaction(() => {
        setSuspendImage(ctx.db, snapUuid, { host, path });
        ctx.db.update('VM', made!, { power_state: 'Suspended' });
      });
    } finally {
      ctx.task?.setProgress(0.8);
      try {
        const d = await mapHypervisorErrors({ vm: vmRef, host, task: opRef }, () => domainsOn(ctx, host).resume(uuid, path, wasPaused));
        markRunning(ctx.db, vmRef, host, d);
      } catch {
        // The VM stays whole: suspended in the image just written, to be resumed by hand.
        ctx.db.transaction(() => {
          setSuspendImage(ctx.db, uuid, { host, path });
          markSuspended(ctx.db, vmRef);
        });
        // eslint-disable-next-line no-unsafe-finally
        throw new ApiError('VM_CHECKPOINT_RESUME_FAILED', [vmRef]);
      }
    }
  });
  return made!;
}

export const vmCheckpointActions = { checkpoint } satisfies ActionsOf<'VM'>;
