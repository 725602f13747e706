/**
 * @module
 * Which VM operations may start, given the VM's power state and the operations already
 * running on it: the rule behind `allowed_operations`, `VM_BAD_POWER_STATE` and
 * `OTHER_OPERATION_IN_PROGRESS`. Pure policy over a VM record, following xapi's tables
 * (the power states each operation needs, and the few pairs that may overlap: a hard
 * shutdown or hard reboot may interrupt a clean one, long copies may run side by side).
 */
import type { VmOperations, VmPowerState } from '../datamodel/enums.js';
import type { ErrorCode } from '../datamodel/errors.js';

/** xapi reports power states in lower case in errors: `halted`, `running`… */
export function lowerPowerState(s: string): string {
  return s.toLowerCase();
}

const H: VmPowerState = 'Halted';
const R: VmPowerState = 'Running';
const P: VmPowerState = 'Paused';
const S: VmPowerState = 'Suspended';
const ALL: readonly VmPowerState[] = [H, P, S, R];

const NEEDS: Partial<Record<VmOperations, readonly VmPowerState[]>> = {
  start: [H], start_on: [H], provision: [H], make_into_template: [H], changing_NVRAM: [H],
  changing_shadow_memory: [H], changing_VCPUs: [H], changing_static_range: [H],
  changing_memory_limits: [H], create_vtpm: [H],
  unpause: [P],
  resume: [S], resume_on: [S], csvm: [S],
  clean_reboot: [R], clean_shutdown: [R], pause: [R], pool_migrate: [R], suspend: [R],
  call_plugin: [R], send_sysrq: [R], send_trigger: [R], snapshot_with_quiesce: [R],
  changing_memory_live: [R], awaiting_memory_live: [R], changing_shadow_memory_live: [R],
  changing_VCPUs_live: [R], data_source_op: [R],
  changing_dynamic_range: [H, R],
  clone: [H], copy: [H],
  create_template: [H, S], destroy: [H, S], export: [H, S],
  hard_reboot: [P, R],
  checkpoint: [P, S, R], get_boot_record: [P, S, R], shutdown: [P, S, R], hard_shutdown: [P, S, R],
  migrate_send: [H, S, R],
  import: [],
};

/** The power states in which `op` may start (snapshots and clones of snapshots aside). */
export function allowedPowerStates(op: VmOperations, isSnapshot = false): readonly VmPowerState[] {
  if ((op === 'clone' || op === 'copy') && isSnapshot) return [H, S];
  return NEEDS[op] ?? ALL;
}

const LONG_COPIES: readonly VmOperations[] = ['clone', 'copy', 'export'];
const SNAPSHOTS: readonly VmOperations[] = ['snapshot', 'checkpoint'];
const PAIRS: ReadonlyArray<readonly [VmOperations, VmOperations]> = [
  ['snapshot_with_quiesce', 'snapshot'], ['migrate_send', 'metadata_export'],
  ['migrate_send', 'clean_shutdown'], ['migrate_send', 'clean_reboot'],
];

/** Whether `op` may start while `current` operations run (power state aside). */
export function allowedConcurrently(op: VmOperations, current: readonly VmOperations[]): boolean {
  if (current.length === 0) return true;
  const within = (group: readonly VmOperations[]) => group.includes(op) && current.every((c) => group.includes(c));
  if (within(LONG_COPIES) || within(SNAPSHOTS) || within(['get_boot_record'])) return true;
  if (op === 'hard_shutdown') return !current.includes('hard_shutdown');
  if (op === 'hard_reboot') return !current.some((c) => c === 'hard_shutdown' || c === 'hard_reboot');
  return current.length === 1 && PAIRS.some(([cur, next]) => cur === current[0] && next === op);
}

/** The part of a VM record these rules read. */
export interface VmOpView {
  readonly power_state: string;
  readonly current_operations: Readonly<Record<string, string>>;
  readonly blocked_operations: Readonly<Record<string, string>>;
  readonly is_a_template: boolean;
  readonly is_a_snapshot: boolean;
  /** A host's control domain (dom0): most lifecycle operations are refused on it. */
  readonly is_control_domain?: boolean;
}

/** What xapi still lets one do to a control domain (memory and VCPU settings, metadata). */
const CONTROL_DOMAIN_OPS: ReadonlySet<VmOperations> = new Set<VmOperations>([
  'data_source_op', 'changing_memory_live', 'awaiting_memory_live', 'metadata_export', 'changing_dynamic_range',
  'changing_memory_limits', 'changing_static_range', 'start', 'start_on',
]);

/** A refusal as XenAPI spells it: `[code, params]`. */
export type OpError = readonly [ErrorCode, readonly string[]];

/** Operations that never make sense on a template (it is copied, never run). */
const TEMPLATE_FORBIDDEN = new Set<VmOperations>([
  'start', 'start_on', 'pause', 'unpause', 'clean_shutdown', 'clean_reboot', 'hard_shutdown',
  'hard_reboot', 'suspend', 'resume', 'resume_on', 'pool_migrate', 'shutdown', 'checkpoint',
  'snapshot', 'snapshot_with_quiesce', 'changing_VCPUs_live', 'changing_memory_live',
]);

/**
 * Why `op` may not start on the VM now, or undefined if it may. Checks in xapi's order:
 * blocked by the user, power state, overlapping operations, template rules.
 */
export function vmOperationError(vmRef: string, vm: VmOpView, op: VmOperations): OpError | undefined {
  const blocked = vm.blocked_operations[op];
  if (blocked !== undefined) return ['OPERATION_BLOCKED', [vmRef, blocked]];
  const states = allowedPowerStates(op, vm.is_a_snapshot);
  if (!states.includes(vm.power_state as VmPowerState)) {
    return ['VM_BAD_POWER_STATE', [vmRef, states.map(lowerPowerState).join(', '), lowerPowerState(vm.power_state)]];
  }
  const running = Object.entries(vm.current_operations);
  if (running.length > 0 && !allowedConcurrently(op, running.map(([, o]) => o as VmOperations))) {
    const [refs, ops] = running.length === 1
      ? [running[0]![0], running[0]![1]]
      : [`{${running.map(([t]) => t).join(',')}}`, `{${running.map(([, o]) => o).join(',')}}`];
    return ['OTHER_OPERATION_IN_PROGRESS', ['VM', vmRef, ops, refs]];
  }
  if (vm.is_a_template && !vm.is_a_snapshot && TEMPLATE_FORBIDDEN.has(op)) return ['VM_IS_TEMPLATE', [vmRef]];
  if (vm.is_a_snapshot && TEMPLATE_FORBIDDEN.has(op)) return ['OPERATION_NOT_ALLOWED', ['This operation is not allowed on a snapshot']];
  if (vm.is_control_domain) {
    // Every host's control domain here is its dom0, so xapi's dom0 wording applies to these two.
    if (op === 'changing_VCPUs' || op === 'destroy') return ['OPERATION_NOT_ALLOWED', ['This operation is not allowed on dom0']];
    if (!CONTROL_DOMAIN_OPS.has(op)) return ['OPERATION_NOT_ALLOWED', ['This operation is not allowed on a control domain']];
  }
  return undefined;
}

/** The operations `allowed_operations` lists: those that would pass `vmOperationError` now. */
export const LISTED_VM_OPERATIONS: readonly VmOperations[] = [
  'snapshot', 'clone', 'copy', 'revert', 'checkpoint', 'provision', 'start', 'start_on', 'pause',
  'unpause', 'clean_shutdown', 'clean_reboot', 'hard_shutdown', 'power_state_reset', 'hard_reboot',
  'suspend', 'resume', 'resume_on', 'pool_migrate', 'migrate_send', 'shutdown', 'changing_VCPUs_live',
  'changing_dynamic_range', 'changing_static_range', 'changing_memory_limits', 'changing_VCPUs',
  'make_into_template', 'export', 'destroy', 'metadata_export',
];

export function computeAllowedOperations(vmRef: string, vm: VmOpView): VmOperations[] {
  return LISTED_VM_OPERATIONS.filter((op) => {
    if (op === 'provision' && !vm.is_a_template) return false;
    if (op === 'revert' && !vm.is_a_snapshot) return false;
    return vmOperationError(vmRef, vm, op) === undefined;
  });
}
