/**
 * @module
 * VM power actions: start (on a chosen or given host), clean and hard shutdown and reboot,
 * pause and unpause, suspend and resume, live migration, the checks clients run before
 * them, and the memory a domain costs (its overhead, the most a VM could be given). Each
 * runs under the VM's operation lock (`current_operations`), does its domain work on the
 * host holding the domain (through `domainsOn`) and records the outcome in one
 * change of the VM's record. The database is only written here, on the master.
 */
import { ApiError } from '../../core/api-error.js';
import { HypervisorErrorCode, isHypervisorError } from '../../core/ports/hypervisor.js';
import type { Ref } from '../../core/ref.js';
import type { VmOperations } from '../../datamodel/enums.js';
import type { ActionContext } from '../../core/action-context.js';
import { domainsOn } from '../host/host-domains.js';
import { mapHypervisorErrors } from '../common/hypervisor-errors.js';
import { bootOn, cleanTimeoutMs, destroyDomain, residentHost, vmUuid } from './vm-boot.js';
import { markHalted, markRunning, setSuspendImage } from './vm-domain-state.js';
import { assertVmOperation, getVm, updateVmAllowedOperations, withVmOperation } from './vm-operation-lock.js';
import { assertCanBootHere, chooseHost, hostInfo, hostIsLive, possibleHosts } from './vm-placement.js';
import type { ActionsOf } from '../../core/actions-of.js';

const vmOf = (a: { vm: Ref<'VM'> }) => a.vm;

/**
 * Waits the VM's `start_delay` or `shutdown_delay` seconds. xapi waits inside the start or
 * shutdown call itself, with the VM's operation still held, which is how an appliance that
 * starts its VMs group by group pauses between groups.
 */
async function waitDelay(ctx: ActionContext, vm: Ref<'VM'>, field: 'start_delay' | 'shutdown_delay'): Promise<void> {
  const seconds = Number(getVm(ctx.db, vm)[field]);
  if (seconds > 0) await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

async function start(ctx: ActionContext, vm: Ref<'VM'>, host: Ref<'host'> | undefined, paused: boolean): Promise<string> {
  await withVmOperation(ctx, vm, host ? 'start_on' : 'start', async (opRef) => {
    const target = host ?? (await chooseHost(ctx, vm));
    await bootOn(ctx, vm, target, paused, opRef);
    await waitDelay(ctx, vm, 'start_delay');
  });
  return '';
}

async function cleanShutdown(ctx: ActionContext, vm: Ref<'VM'>, opRef: string): Promise<void> {
  const host = residentHost(ctx, vm);
  await mapHypervisorErrors({ vm, host, task: opRef }, () =>
    domainsOn(ctx, host).shutdown(vmUuid(ctx, vm), cleanTimeoutMs(ctx, vm)));
  markHalted(ctx.db, vm);
  await waitDelay(ctx, vm, 'shutdown_delay');
}

async function hardShutdown(ctx: ActionContext, vm: Ref<'VM'>, opRef: string): Promise<void> {
  if (getVm(ctx.db, vm).power_state === 'Suspended') {
    setSuspendImage(ctx.db, vmUuid(ctx, vm), undefined);
    markHalted(ctx.db, vm);
    return;
  }
  await destroyDomain(ctx, vm, residentHost(ctx, vm), opRef);
  await waitDelay(ctx, vm, 'shutdown_delay');
}

async function reboot(ctx: ActionContext, vm: Ref<'VM'>, clean: boolean, opRef: string): Promise<void> {
  const host = residentHost(ctx, vm);
  const timeoutMs = clean ? cleanTimeoutMs(ctx, vm) : undefined;
  const d = await mapHypervisorErrors({ vm, host, task: opRef }, () =>
    domainsOn(ctx, host).reboot(vmUuid(ctx, vm), clean, timeoutMs));
  markRunning(ctx.db, vm, host, d);
}

/** A power operation whose whole work is one function of the locked VM. */
function locked(op: VmOperations, fn: (ctx: ActionContext, vm: Ref<'VM'>, opRef: string) => Promise<void>) {
  return async (ctx: ActionContext, a: { vm: Ref<'VM'> }) => {
    await withVmOperation(ctx, vmOf(a), op, (opRef) => fn(ctx, vmOf(a), opRef));
    return '';
  };
}

async function pauseOrUnpause(ctx: ActionContext, vm: Ref<'VM'>, pause: boolean, opRef: string): Promise<void> {
  const host = residentHost(ctx, vm);
  const dom = domainsOn(ctx, host);
  const d = await mapHypervisorErrors({ vm, host, task: opRef }, () =>
    pause ? dom.pause(vmUuid(ctx, vm)) : dom.unpause(vmUuid(ctx, vm)));
  markRunning(ctx.db, vm, host, d);
}

/** `VM.shutdown`: cleanly when the guest can, forcibly when it cannot. */
async function shutdown(ctx: ActionContext, vm: Ref<'VM'>, opRef: string): Promise<void> {
  if (getVm(ctx.db, vm).power_state !== 'Running') return hardShutdown(ctx, vm, opRef);
  try {
    await cleanShutdown(ctx, vm, opRef);
  } catch (e) {
    if (e instanceof ApiError && e.code === 'TASK_CANCELLED') throw e;
    if (getVm(ctx.db, vm).power_state !== 'Halted') await hardShutdown(ctx, vm, opRef);
  }
}

/** `VM.power_state_reset`: forget a domain that died with its host. */
async function powerStateReset(ctx: ActionContext, vm: Ref<'VM'>): Promise<void> {
  const row = getVm(ctx.db, vm);
  if (row.power_state === 'Halted') return;
  if (row.power_state === 'Running' || row.power_state === 'Paused') {
    const host = row.resident_on;
    if (hostIsLive(ctx.db, host)) {
      let alive = true;
      try {
        alive = (await domainsOn(ctx, host).list()).some((d) => d.vmUuid === row.uuid);
      } catch (e) {
        if (!isHypervisorError(e, HypervisorErrorCode.unavailable) && !(e instanceof ApiError && e.code === 'HOST_OFFLINE')) throw e;
        alive = false;
      }
      if (alive) throw new ApiError('OPERATION_NOT_ALLOWED', ['The VM is still running on a live host; shut it down instead']);
    }
  }
  setSuspendImage(ctx.db, String(row.uuid), undefined);
  markHalted(ctx.db, vm);
}

/** The hypervisor's overhead for a domain of the VM: on its host when it runs, else on this one. */
async function overheadFor(ctx: ActionContext, vm: Ref<'VM'>): Promise<number> {
  const row = getVm(ctx.db, vm);
  const host = (row.power_state === 'Running' || row.power_state === 'Paused') ? row.resident_on : ctx.services.hostRef;
  return (await hostInfo(ctx, host)).memoryOverheadPerDomain ?? 0;
}

export const vmPowerActions = {
  start: (ctx, a) => start(ctx, vmOf(a), undefined, !!a.start_paused),
  start_on: (ctx, a) => start(ctx, vmOf(a), a.host, !!a.start_paused),
  clean_shutdown: locked('clean_shutdown', cleanShutdown),
  hard_shutdown: locked('hard_shutdown', hardShutdown),
  shutdown: locked('shutdown', shutdown),
  clean_reboot: locked('clean_reboot', (ctx, vm, op) => reboot(ctx, vm, true, op)),
  hard_reboot: locked('hard_reboot', (ctx, vm, op) => reboot(ctx, vm, false, op)),
  pause: locked('pause', (ctx, vm, op) => pauseOrUnpause(ctx, vm, true, op)),
  unpause: locked('unpause', (ctx, vm, op) => pauseOrUnpause(ctx, vm, false, op)),
  power_state_reset: locked('power_state_reset', (ctx, vm) => powerStateReset(ctx, vm)),
  get_possible_hosts: (ctx, a) => possibleHosts(ctx, vmOf(a)),
  assert_can_boot_here: async (ctx, a) => {
    await assertCanBootHere(ctx, a.self, a.host, { memory: true });
    return '';
  },
  assert_operation_valid: (ctx, a) => {
    assertVmOperation(ctx.db, a.self, a.op as VmOperations);
    return '';
  },
  update_allowed_operations: (ctx, a) => {
    updateVmAllowedOperations(ctx.db, a.self);
    return '';
  },
  compute_memory_overhead: async (ctx, a) => overheadFor(ctx, a.vm),
  // A domain costs its memory and the hypervisor's overhead per domain, whatever its vCPUs
  // (so an approximate answer is the exact one): the most the VM's static maximum can be
  // is what `total` leaves once that overhead is paid.
  maximise_memory: async (ctx, a) => {
    const total = Number(a.total);
    if (!Number.isSafeInteger(total) || total < 0) throw new ApiError('INVALID_VALUE', ['total', String(a.total)]);
    return Math.max(0, total - (await overheadFor(ctx, a.self)));
  },
} satisfies ActionsOf<'VM'>;

