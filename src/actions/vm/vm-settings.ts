/**
 * @module
 * The remaining VM setters xapi guards with its own rules rather than a plain field write:
 * the shadow multiplier and the domain type change only while the VM is halted, crash
 * actions refuse what would leak a domain or core-dump an HVM guest, the HA restart
 * priority takes only xapi's words, BIOS strings are set once (given, or copied from a
 * host), and `assert_agile` fails unless every disk is on a shared SR (as HA requires of a
 * protected VM). The HVM boot policy and `ha_always_run` were plain fields in 6.0.2: any
 * value is taken, whatever the power state (HA is not offered, so nothing else follows).
 */
import { assertWlbEnabled } from '../host/host-services.js';
import { ApiError } from '../../core/api-error.js';
import type { Row } from '../../core/ports/pool-db.js';
import { isNullRef, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { getVm, withVmOperation } from './vm-operation-lock.js';
import type { ActionsOf } from '../../core/actions-of.js';

const vmOf = (a: { self: Ref<'VM'> }) => a.self;

function isHvm(vm: Row): boolean {
  if (vm.domain_type === 'hvm') return true;
  if (vm.domain_type === 'pv' || vm.domain_type === 'pvh' || vm.domain_type === 'pv_in_pvh') return false;
  return String(vm.HVM_boot_policy ?? '') !== '';
}

const BIOS_KEYS = new Set([
  'bios-vendor', 'bios-version', 'system-manufacturer', 'system-product-name', 'system-version',
  'system-serial-number', 'baseboard-manufacturer', 'baseboard-product-name', 'baseboard-version',
  'baseboard-serial-number', 'enclosure-asset-tag', 'hp-rombios', 'oem-1', 'oem-2',
]);

export const vmSettingActions = {
  set_HVM_shadow_multiplier: async (ctx, a) => {
    const value = Number(a.value);
    if (!(value >= 1)) throw new ApiError('INVALID_VALUE', ['HVM_shadow_multiplier', String(a.value)]);
    await withVmOperation(ctx, vmOf(a), 'changing_shadow_memory', async (_op, atRelease) => {
      atRelease(() => ctx.db.update('VM', vmOf(a), { HVM_shadow_multiplier: value }));
    });
    return '';
  },
  set_actions_after_crash: (ctx, a) => {
    const vm = getVm(ctx.db, vmOf(a));
    const value = a.value;
    const field = 'VM.actions_after_crash';
    if (value === 'rename_restart') {
      throw new ApiError('VALUE_NOT_SUPPORTED', [field, value, 'option would leak a domain; VMs and not domains are managed by this API']);
    }
    if (value.startsWith('coredump') && isHvm(vm)) {
      throw new ApiError('VALUE_NOT_SUPPORTED', [field, value, 'cannot invoke a coredump of an HVM domain']);
    }
    ctx.db.update('VM', vmOf(a), { actions_after_crash: value });
    return '';
  },
  set_ha_restart_priority: (ctx, a) => {
    getVm(ctx.db, vmOf(a));
    const value = String(a.value);
    if (!['restart', 'best-effort', ''].includes(value)) throw new ApiError('INVALID_VALUE', ['ha_restart_priority', value]);
    ctx.db.update('VM', vmOf(a), { ha_restart_priority: value, ha_always_run: value === 'restart' });
    return '';
  },
  set_suspend_VDI: (ctx, a) => {
    getVm(ctx.db, vmOf(a));
    if (!isNullRef(a.value) && !ctx.db.get('VDI', a.value)) throw new ApiError('HANDLE_INVALID', ['VDI', String(a.value)]);
    ctx.db.update('VM', vmOf(a), { suspend_VDI: a.value });
    return '';
  },
  set_domain_type: async (ctx, a) => {
    const value = a.value;
    if (value === 'unspecified') throw new ApiError('VALUE_NOT_SUPPORTED', ['domain_type', value, 'the domain type must be specified']);
    const vm = getVm(ctx.db, vmOf(a));
    if (vm.power_state !== 'Halted') throw new ApiError('VM_BAD_POWER_STATE', [vmOf(a), 'halted', String(vm.power_state).toLowerCase()]);
    // Old clients read HVM_boot_policy: keep it saying the same thing.
    const policy = value === 'hvm' ? (String(vm.HVM_boot_policy || '') || 'BIOS order') : '';
    ctx.db.update('VM', vmOf(a), { domain_type: value, HVM_boot_policy: policy });
    return '';
  },
  set_NVRAM: (ctx, a) => {
    getVm(ctx.db, vmOf(a));
    ctx.db.update('VM', vmOf(a), { NVRAM: { ...a.value } });
    return '';
  },
  set_bios_strings: (ctx, a) => {
    const vm = getVm(ctx.db, vmOf(a));
    if (Object.keys(vm.bios_strings ?? {}).length > 0) throw new ApiError('VM_BIOS_STRINGS_ALREADY_SET', []);
    const value = a.value;
    for (const [k, v] of Object.entries(value)) {
      if (!BIOS_KEYS.has(k)) throw new ApiError('INVALID_VALUE', [k, 'Unknown key']);
      if (v.length > 512) throw new ApiError('INVALID_VALUE', [k, 'The value is longer than 512 characters']);
    }
    ctx.db.update('VM', vmOf(a), { bios_strings: { ...value } });
    return '';
  },
  set_HVM_boot_policy: (ctx, a) => {
    getVm(ctx.db, vmOf(a));
    // Clients of today read domain_type: keep it saying what the policy says.
    ctx.db.update('VM', vmOf(a), { HVM_boot_policy: a.value, domain_type: a.value === '' ? 'pv' : 'hvm' });
    return '';
  },
  set_ha_always_run: (ctx, a) => {
    getVm(ctx.db, vmOf(a));
    ctx.db.update('VM', vmOf(a), { ha_always_run: a.value });
    return '';
  },
  copy_bios_strings: (ctx, a) => {
    const vm = getVm(ctx.db, a.vm);
    const host = ctx.db.get('host', a.host);
    if (!host) throw new ApiError('HANDLE_INVALID', ['host', a.host]);
    if (Object.keys(vm.bios_strings ?? {}).length > 0) throw new ApiError('VM_BIOS_STRINGS_ALREADY_SET', []);
    // The VM now looks like that machine to its guest, so it should start there.
    ctx.db.update('VM', a.vm, { bios_strings: { ...host.bios_strings }, affinity: a.host });
    return '';
  },
  // Workload balancing is never reachable here (pool.initialize_wlb records no server it
  // cannot reach, and none answers): the same refusals as the host's evacuation advice.
  retrieve_wlb_recommendations: (ctx, a) => {
    getVm(ctx.db, a.vm);
    assertWlbEnabled(ctx);
    throw new ApiError('WLB_CONNECTION_REFUSED', []);
  },
  assert_agile: (ctx, a) => {
    const vm = getVm(ctx.db, vmOf(a));
    for (const vbd of vm.VBDs ?? []) {
      const row = ctx.db.get('VBD', vbd);
      if (!row || row.empty === true || isNullRef(row.VDI)) continue;
      const sr = ctx.db.get('VDI', row.VDI)?.SR;
      if (sr && ctx.db.get('SR', sr)?.shared !== true) throw new ApiError('HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED', [sr]);
    }
    return '';
  },
} satisfies ActionsOf<'VM'>;
