/**
 * @module
 * The steps power actions share: find the host a VM's domain is on, build a domain on a
 * host (checks, `scheduled_to_be_resident_on` while it is being built, then the record),
 * and stop one for good.
 */
import { ApiError } from '../../core/api-error.js';
import { HypervisorErrorCode, isHypervisorError } from '../../core/ports/hypervisor.js';
import { NULL_REF, isNullRef, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { domainsOn } from '../host/host-domains.js';
import { mapHypervisorErrors } from '../common/hypervisor-errors.js';
import { nicsForBoot } from '../vif/vif-devices.js';
import { markHalted, markRunning } from './vm-domain-state.js';
import { getVm } from './vm-operation-lock.js';
import { assertCanBootHere, hostInfo, vmNeeds } from './vm-placement.js';

/** Clean shutdown and reboot wait this long for the guest unless the VM says otherwise. */
export const CLEAN_TIMEOUT_MS = 60_000;

/** `other_config:islet_clean_shutdown_timeout` (seconds) shortens or lengthens the wait. */
export function cleanTimeoutMs(ctx: ActionContext, vm: Ref<'VM'>): number {
  const oc = getVm(ctx.db, vm).other_config ?? {};
  const s = Number(oc.islet_clean_shutdown_timeout);
  return Number.isFinite(s) && s > 0 ? s * 1000 : CLEAN_TIMEOUT_MS;
}

export function vmUuid(ctx: ActionContext, vm: Ref<'VM'>): string {
  return String(getVm(ctx.db, vm).uuid);
}

/** The host running the VM's domain; the caller checked the power state already. */
export function residentHost(ctx: ActionContext, vm: Ref<'VM'>): Ref<'host'> {
  const host = getVm(ctx.db, vm).resident_on;
  if (isNullRef(host)) throw new ApiError('VM_BAD_POWER_STATE', [vm, 'running', 'halted']);
  return host;
}

/** Builds the VM's domain on `host` and records it there. */
export async function bootOn(ctx: ActionContext, vm: Ref<'VM'>, host: Ref<'host'>, paused: boolean, opRef: string): Promise<void> {
  const info = await hostInfo(ctx, host);
  await assertCanBootHere(ctx, vm, host, { memory: true, info });
  const needs = vmNeeds(vm, getVm(ctx.db, vm));
  ctx.db.update('VM', vm, { scheduled_to_be_resident_on: host });
  try {
    const d = await mapHypervisorErrors({ vm, host, task: opRef }, () =>
      domainsOn(ctx, host).create({
        vmUuid: vmUuid(ctx, vm), memory: needs.memory, vcpus: needs.vcpus, paused, nics: nicsForBoot(ctx.db, vm),
      }));
    markRunning(ctx.db, vm, host, d, info.memoryOverheadPerDomain ?? 0);
  } catch (e) {
    if (ctx.db.get('VM', vm)?.power_state === 'Halted') ctx.db.update('VM', vm, { scheduled_to_be_resident_on: NULL_REF });
    throw e;
  }
}

/** Ends the VM's domain at once; a domain already gone counts as ended. */
export async function destroyDomain(ctx: ActionContext, vm: Ref<'VM'>, host: Ref<'host'>, opRef: string): Promise<void> {
  await mapHypervisorErrors({ vm, host, task: opRef }, async () => {
    try {
      await domainsOn(ctx, host).destroy(vmUuid(ctx, vm));
    } catch (e) {
      if (!isHypervisorError(e, HypervisorErrorCode.noSuchDomain)) throw e;
    }
  });
  markHalted(ctx.db, vm);
}

/** The VM's domain as its host sees it now, if it has one there. */
export async function findDomain(ctx: ActionContext, vm: Ref<'VM'>, host: Ref<'host'>) {
  const uuid = vmUuid(ctx, vm);
  const all = await mapHypervisorErrors({ vm, host }, () => domainsOn(ctx, host).list());
  return all.find((d) => d.vmUuid === uuid);
}
