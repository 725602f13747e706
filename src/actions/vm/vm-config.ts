/**
 * @module
 * The VM calls that change its memory and CPU configuration, and the device slots still
 * free on it, with xapi's rules: the four memory limits must stay ordered (static_min ≤
 * dynamic_min ≤ dynamic_max ≤ static_max) or the call fails with
 * MEMORY_CONSTRAINT_VIOLATION and changes nothing; the static limits and the VCPU maximum
 * change only while the VM is halted, the dynamic range also while it runs, the live VCPU
 * count only while it runs. Each change runs under the VM's operation lock, so the power
 * state checks and OTHER_OPERATION_IN_PROGRESS come from the same policy as power actions.
 */
import { ApiError } from '../../core/api-error.js';
import type { RecordOf } from '../../core/record-of.js';
import { isNullRef, type Ref } from '../../core/ref.js';
import type { VmOperations } from '../../datamodel/enums.js';
import type { ActionArgs, ActionContext } from '../../core/action-context.js';
import { getVm, withVmOperation } from './vm-operation-lock.js';
import type { ActionsOf } from '../../core/actions-of.js';

interface MemoryLimits {
  static_min: number;
  dynamic_min: number;
  dynamic_max: number;
  static_max: number;
}

const ORDER = 'Memory limits must satisfy: static_min <= dynamic_min <= dynamic_max <= static_max';

function limitsOf(vm: RecordOf<'VM'>): MemoryLimits {
  return {
    static_min: Number(vm.memory_static_min),
    dynamic_min: Number(vm.memory_dynamic_min),
    dynamic_max: Number(vm.memory_dynamic_max),
    static_max: Number(vm.memory_static_max),
  };
}

function assertOrdered(l: MemoryLimits): void {
  const ok = l.static_min >= 0 && l.static_min <= l.dynamic_min && l.dynamic_min <= l.dynamic_max
    && l.dynamic_max <= l.static_max;
  if (!ok) throw new ApiError('MEMORY_CONSTRAINT_VIOLATION', [ORDER]);
}

/** Changes some memory limits under operation `op`, refusing any set that is out of order. */
async function setMemory(ctx: ActionContext, vm: Ref<'VM'>, op: VmOperations, change: Partial<MemoryLimits>): Promise<string> {
  await withVmOperation(ctx, vm, op, async (_op, atRelease) => {
    const next = { ...limitsOf(getVm(ctx.db, vm)), ...change };
    assertOrdered(next);
    atRelease(() => {
      ctx.db.update('VM', vm, {
        memory_static_min: next.static_min,
        memory_dynamic_min: next.dynamic_min,
        memory_dynamic_max: next.dynamic_max,
        memory_static_max: next.static_max,
        // The balloon target follows the top of the dynamic range, as xapi's squeezer aims.
        memory_target: next.dynamic_max,
      });
    });
  });
  return '';
}

function int(a: ActionArgs, name: string): number {
  return Number(a[name]);
}

/** xapi's rule for VCPU counts: both at least one, the start count no more than the maximum. */
function assertVcpus(max: number, atStartup: number): void {
  if (max < 1) throw new ApiError('INVALID_VALUE', ['VCPUs_max', String(max)]);
  if (atStartup < 1) throw new ApiError('INVALID_VALUE', ['VCPUs-at-startup', String(atStartup)]);
  if (atStartup > max) {
    throw new ApiError('VALUE_NOT_SUPPORTED', ['VCPUs-at-startup', String(atStartup), 'value greater than VCPUs-max']);
  }
}

async function setVcpus(ctx: ActionContext, vm: Ref<'VM'>, change: { max?: number; atStartup?: number }): Promise<string> {
  await withVmOperation(ctx, vm, 'changing_VCPUs', async (_op, atRelease) => {
    const row = getVm(ctx.db, vm);
    const max = change.max ?? Number(row.VCPUs_max);
    const atStartup = change.atStartup ?? Number(row.VCPUs_at_startup);
    assertVcpus(max, atStartup);
    atRelease(() => ctx.db.update('VM', vm, { VCPUs_max: max, VCPUs_at_startup: atStartup }));
  });
  return '';
}

/** Changes the number of VCPUs a running VM has; the new count is also what it next boots with. */
async function setVcpusLive(ctx: ActionContext, vm: Ref<'VM'>, n: number): Promise<string> {
  await withVmOperation(ctx, vm, 'changing_VCPUs_live', async (_op, atRelease) => {
    const row = getVm(ctx.db, vm);
    const max = Number(row.VCPUs_max);
    if (n < 1 || n > max) throw new ApiError('INVALID_VALUE', ['nvcpu', String(n)]);
    atRelease(() => {
      ctx.db.update('VM', vm, { VCPUs_at_startup: n });
      const metrics = row.metrics;
      if (!isNullRef(metrics) && ctx.db.get('VM_metrics', metrics)) ctx.db.update('VM_metrics', metrics, { VCPUs_number: n });
    });
  });
  return '';
}

/** Whether the VM boots as an HVM guest (an HVM boot policy or the hvm domain type). */
function bootsHvm(vm: RecordOf<'VM'>): boolean {
  if (vm.domain_type === 'hvm') return true;
  if (vm.domain_type === 'pv' || vm.domain_type === 'pvh' || vm.domain_type === 'pv_in_pvh') return false;
  return String(vm.HVM_boot_policy ?? '') !== '';
}

/** Whether the guest reports paravirtual drivers, which widen an HVM guest's device slots. */
function hasPvDrivers(ctx: ActionContext, vm: RecordOf<'VM'>): boolean {
  const gm = vm.guest_metrics;
  if (isNullRef(gm)) return false;
  const row = ctx.db.get('VM_guest_metrics', gm);
  return !!row && Object.keys(row.PV_drivers_version ?? {}).length > 0;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The disk number a VBD's `userdevice` or `device` names: `2`, `xvdc`, `hdc` and `sdc` are all 2. */
export function diskNumber(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  const m = /^(?:xvd|hd|sd)([a-z]+)\d*$/.exec(name);
  if (!m) return undefined;
  let n = 0;
  for (const ch of m[1]!) n = n * 26 + (ch.charCodeAt(0) - 96);
  return n - 1;
}

/** The disk slots still free: xapi 6.0.2's limits (HVM 0-3, or 0-15 with PV drivers; PV 0-15). */
function allowedVbdDevices(ctx: ActionContext, vmRef: Ref<'VM'>): string[] {
  const vm = getVm(ctx.db, vmRef);
  const hvm = bootsHvm(vm);
  const all = vm.is_control_domain === true && !hvm ? range(0, 255)
    : hvm && !hasPvDrivers(ctx, vm) ? range(0, 3) : range(0, 15);
  const used = new Set<number>();
  for (const vbd of vm.VBDs ?? []) {
    const row = ctx.db.get('VBD', vbd);
    if (!row) continue;
    for (const name of [row.userdevice, row.device]) {
      const n = diskNumber(String(name ?? ''));
      if (n !== undefined) used.add(n);
    }
  }
  return all.filter((n) => !used.has(n)).map(String);
}

/** The network slots still free: HVM 0-3 (0-6 with PV drivers), PV 0-6. */
function allowedVifDevices(ctx: ActionContext, vmRef: Ref<'VM'>): string[] {
  const vm = getVm(ctx.db, vmRef);
  const all = bootsHvm(vm) && !hasPvDrivers(ctx, vm) ? range(0, 3) : range(0, 6);
  const used = new Set<string>();
  for (const vif of vm.VIFs ?? []) {
    const row = ctx.db.get('VIF', vif);
    if (row) used.add(String(row.device));
  }
  return all.map(String).filter((d) => !used.has(d));
}

const vmOf = (a: { self: Ref<'VM'> }) => a.self;

export const vmConfigActions = {
  set_memory_static_max: (ctx, a) => setMemory(ctx, vmOf(a), 'changing_static_range', { static_max: int(a, 'value') }),
  set_memory_static_min: (ctx, a) => setMemory(ctx, vmOf(a), 'changing_static_range', { static_min: int(a, 'value') }),
  set_memory_static_range: (ctx, a) =>
    setMemory(ctx, vmOf(a), 'changing_static_range', { static_min: int(a, 'min'), static_max: int(a, 'max') }),
  set_memory_dynamic_max: (ctx, a) => setMemory(ctx, vmOf(a), 'changing_dynamic_range', { dynamic_max: int(a, 'value') }),
  set_memory_dynamic_min: (ctx, a) => setMemory(ctx, vmOf(a), 'changing_dynamic_range', { dynamic_min: int(a, 'value') }),
  set_memory_dynamic_range: (ctx, a) =>
    setMemory(ctx, vmOf(a), 'changing_dynamic_range', { dynamic_min: int(a, 'min'), dynamic_max: int(a, 'max') }),
  set_memory_limits: (ctx, a) => setMemory(ctx, vmOf(a), 'changing_memory_limits', {
    static_min: int(a, 'static_min'), static_max: int(a, 'static_max'),
    dynamic_min: int(a, 'dynamic_min'), dynamic_max: int(a, 'dynamic_max'),
  }),
  // xapi: everything but static_min takes the value.
  set_memory: (ctx, a) => setMemory(ctx, vmOf(a), 'changing_memory_limits', {
    static_max: int(a, 'value'), dynamic_min: int(a, 'value'), dynamic_max: int(a, 'value'),
  }),
  set_VCPUs_max: (ctx, a) => setVcpus(ctx, vmOf(a), { max: int(a, 'value') }),
  set_VCPUs_at_startup: (ctx, a) => setVcpus(ctx, vmOf(a), { atStartup: int(a, 'value') }),
  set_VCPUs_number_live: (ctx, a) => setVcpusLive(ctx, vmOf(a), int(a, 'nvcpu')),
  get_allowed_VBD_devices: (ctx, a) => allowedVbdDevices(ctx, a.vm),
  get_allowed_VIF_devices: (ctx, a) => allowedVifDevices(ctx, a.vm),
} satisfies ActionsOf<'VM'>;
