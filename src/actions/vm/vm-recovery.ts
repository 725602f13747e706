/**
 * @module
 * Disaster recovery: bringing VMs back from a copy of a pool's database. On XenServer the
 * copy is read from a metadata VDI (`VDI.open_database`), which answers a session onto
 * that copy, and `recover` imports the VMs it names into the pool of `session_to`. No
 * metadata VDI can be opened here, so the only database a VM can be read from is this
 * pool's own, which is also the receiving one. The checks are xapi's all the same:
 * `session_to` must be a live session; every SR the VM's disks need (CD drives and ISO
 * SRs aside) must be in the receiving pool with a PBD plugged, else VM_REQUIRES_SR; a VM
 * of an appliance is recovered with its appliance (VM_IS_PART_OF_AN_APPLIANCE). The import
 * then meets the VM itself, already there under its uuid, and answers as xapi's import
 * does: a VM that is not halted cannot be replaced (VM_BAD_POWER_STATE, or skipped when
 * forced), and one that is halted is no newer than itself
 * (VM_TO_IMPORT_IS_NOT_NEWER_VERSION, or, when forced, replaced by the same VM: nothing
 * changes).
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { isNullRef, type Ref } from '../../core/ref.js';
import { srHasAttachedPbd } from '../common/storage-access.js';
import { getVm } from './vm-operation-lock.js';

/** The receiving pool's session must be one this pool knows. */
export function assertSessionTo(ctx: ActionContext, sessionTo: Ref<'session'>): void {
  if (!ctx.db.get('session', sessionTo)) throw new ApiError('SESSION_INVALID', [sessionTo]);
}

/** The SRs holding the VM's disks, CD drives and ISO libraries left out. */
function requiredSrs(ctx: ActionContext, vm: Ref<'VM'>): Ref<'SR'>[] {
  const srs = new Set<Ref<'SR'>>();
  for (const vbd of getVm(ctx.db, vm).VBDs ?? []) {
    const b = ctx.db.get('VBD', vbd);
    if (!b || b.type === 'CD' || isNullRef(b.VDI)) continue;
    const sr = ctx.db.get('VDI', b.VDI)?.SR;
    if (sr && ctx.db.get('SR', sr)?.content_type !== 'iso') srs.add(sr);
  }
  return [...srs];
}

export function assertVmCanBeRecovered(ctx: ActionContext, vm: Ref<'VM'>, sessionTo: Ref<'session'>): void {
  assertSessionTo(ctx, sessionTo);
  for (const sr of requiredSrs(ctx, vm)) {
    // The receiving pool looks the SR up by uuid: here it is the same record.
    const there = ctx.db.refByUuid('SR', String(ctx.db.get('SR', sr)?.uuid ?? ''));
    if (!there || !srHasAttachedPbd(ctx, there as Ref<'SR'>)) throw new ApiError('VM_REQUIRES_SR', [vm, sr]);
  }
}

/** The import's verdict on each VM, all checked before any is touched, as xapi's import does. */
export function recoverVms(ctx: ActionContext, vms: readonly Ref<'VM'>[], force: boolean): void {
  for (const vm of vms) {
    const row = getVm(ctx.db, vm);
    if (row.power_state !== 'Halted') {
      if (force) continue;
      throw new ApiError('VM_BAD_POWER_STATE', [vm, 'Halted', String(row.power_state)]);
    }
    const version = String(Number(row.version ?? 0));
    if (!force) throw new ApiError('VM_TO_IMPORT_IS_NOT_NEWER_VERSION', [vm, version, version]);
  }
}

export const vmRecoveryActions = {
  assert_can_be_recovered: (ctx, a) => {
    assertVmCanBeRecovered(ctx, a.self, a.session_to);
    return '';
  },
  recover: (ctx, a) => {
    const appliance = getVm(ctx.db, a.self).appliance;
    if (!isNullRef(appliance) && ctx.db.get('VM_appliance', appliance)) {
      throw new ApiError('VM_IS_PART_OF_AN_APPLIANCE', [a.self, appliance]);
    }
    assertVmCanBeRecovered(ctx, a.self, a.session_to);
    recoverVms(ctx, [a.self], a.force);
    return '';
  },
} satisfies ActionsOf<'VM'>;
