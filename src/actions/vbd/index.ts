/**
 * @module
 * VBD: a VM's drive. Creating one checks what xapi checks (the VM and disk exist, a disk
 * drive is never empty, CDs are read-only, a slot is used once per VM); a plugged drive
 * cannot be destroyed. Plugging and unplugging record the state of a running VM's drive;
 * CD drives take and give back discs with insert/eject.
 */
import { ApiError } from '../../core/api-error.js';
import type { PatchOf } from '../../core/ports/pool-db.js';
import type { RecordOf } from '../../core/record-of.js';
import { NULL_REF, isNullRef, newRef, newUuid, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { mustRow } from '../common/storage-access.js';
import type { ActionsOf } from '../../core/actions-of.js';

/** The lowest slot number no drive of the VM uses. */
function freeSlot(ctx: ActionContext, vm: RecordOf<'VM'>): string {
  const used = new Set(vm.VBDs.map((v) => String(ctx.db.get('VBD', v)?.userdevice)));
  let i = 0;
  while (used.has(String(i))) i++;
  return String(i);
}

/** A new drive from a record as a client (or an import) gives it, checked as xapi checks it. */
export function createVbd(ctx: ActionContext, r: PatchOf<'VBD'>): Ref<'VBD'> {
  const vm = mustRow(ctx, 'VM', r.VM);
  const type = r.type ?? 'Disk';
  const empty = r.empty === true || isNullRef(r.VDI);
  if (!empty) mustRow(ctx, 'VDI', r.VDI);
  if (type === 'Disk' && empty) throw new ApiError('VDI_MISSING', ['', String(r.VDI ?? NULL_REF)]);
  const mode = r.mode ?? 'RW';
  if (type === 'CD' && mode === 'RW') throw new ApiError('VBD_CDS_MUST_BE_READONLY', []);
  let userdevice = String(r.userdevice ?? '');
  if (userdevice === '' || userdevice === 'autodetect') userdevice = freeSlot(ctx, vm);
  for (const v of vm.VBDs) {
    if (String(ctx.db.get('VBD', v)?.userdevice) === userdevice) throw new ApiError('DEVICE_ALREADY_EXISTS', [userdevice]);
  }
  const ref = newRef<'VBD'>();
  ctx.db.create('VBD', ref, {
    uuid: newUuid(), VM: r.VM, VDI: empty ? NULL_REF : r.VDI, userdevice, device: r.device ?? '',
    bootable: r.bootable === true, mode, type, unpluggable: r.unpluggable ?? true, empty,
    other_config: r.other_config ?? {}, qos_algorithm_type: r.qos_algorithm_type ?? '',
    qos_algorithm_params: r.qos_algorithm_params ?? {}, currently_attached: false,
  });
  return ref;
}

/** A drive like `vbd` for another VM and disk (snapshot, clone, revert). */
export function copyVbd(ctx: ActionContext, vbd: RecordOf<'VBD'>, vm: Ref<'VM'>, vdi: Ref<'VDI'> | undefined): Ref<'VBD'> {
  const ref = newRef<'VBD'>();
  const empty = vdi === undefined || isNullRef(vdi);
  ctx.db.create('VBD', ref, {
    uuid: newUuid(), VM: vm, VDI: empty ? NULL_REF : vdi, userdevice: vbd.userdevice, device: vbd.device,
    bootable: vbd.bootable, mode: vbd.mode, type: vbd.type, unpluggable: vbd.unpluggable, empty,
    other_config: vbd.other_config, qos_algorithm_type: vbd.qos_algorithm_type,
    qos_algorithm_params: vbd.qos_algorithm_params, currently_attached: false,
  });
  return ref;
}

function vmOf(ctx: ActionContext, vbd: RecordOf<'VBD'>): RecordOf<'VM'> {
  return mustRow(ctx, 'VM', vbd.VM);
}

function setAttached(value: boolean) {
  return (ctx: ActionContext, a: { self: Ref<'VBD'> }): string => {
    const vbd = mustRow(ctx, 'VBD', a.self);
    const vm = vmOf(ctx, vbd);
    if (vm.power_state !== 'Running' && vm.power_state !== 'Paused') {
      throw new ApiError('VM_BAD_POWER_STATE', [String(vbd.VM), 'running', String(vm.power_state).toLowerCase()]);
    }
    if (!value && vbd.currently_attached !== true) throw new ApiError('DEVICE_ALREADY_DETACHED', [String(a.self)]);
    ctx.db.update('VBD', a.self, { currently_attached: value });
    return '';
  };
}

function cdDrive(ctx: ActionContext, ref: unknown): RecordOf<'VBD'> {
  const vbd = mustRow(ctx, 'VBD', ref);
  if (vbd.type !== 'CD' && vbd.type !== 'Floppy') throw new ApiError('VBD_NOT_REMOVABLE_MEDIA', [String(ref)]);
  return vbd;
}

export const vbdActions = {
  create: (ctx, a) => createVbd(ctx, a.args ?? {}),
  destroy: (ctx, a) => {
    const vbd = mustRow(ctx, 'VBD', a.self);
    if (vbd.currently_attached === true) throw new ApiError('OPERATION_NOT_ALLOWED', ['VBD is currently attached']);
    ctx.db.remove('VBD', a.self);
    return '';
  },
  plug: setAttached(true),
  unplug: setAttached(false),
  unplug_force: setAttached(false),
  insert: (ctx, a) => {
    const vbd = cdDrive(ctx, a.vbd);
    if (vbd.empty !== true) throw new ApiError('VBD_NOT_EMPTY', [String(a.vbd)]);
    mustRow(ctx, 'VDI', a.vdi);
    ctx.db.update('VBD', a.vbd, { VDI: a.vdi, empty: false });
    return '';
  },
  eject: (ctx, a) => {
    const vbd = cdDrive(ctx, a.vbd);
    if (vbd.empty === true) throw new ApiError('VBD_IS_EMPTY', [String(a.vbd)]);
    ctx.db.update('VBD', a.vbd, { VDI: NULL_REF, empty: true });
    return '';
  },
  assert_attachable: (ctx, a) => {
    const vbd = mustRow(ctx, 'VBD', a.self);
    if (vbd.empty !== true) {
      const vdi = mustRow(ctx, 'VDI', vbd.VDI);
      const sr = mustRow(ctx, 'SR', vdi.SR);
      if (!ctx.services.storage?.attached(String(sr.uuid))) throw new ApiError('SR_NOT_ATTACHED', [String(vdi.SR)]);
    }
    return '';
  },
  set_mode: (ctx, a) => {
    mustRow(ctx, 'VBD', a.self);
    ctx.db.update('VBD', a.self, { mode: a.value });
    return '';
  },
} satisfies ActionsOf<'VBD'>;
