/**
 * @module
 * The per-VM operation lock kept in the database, as xapi keeps it: an operation is
 * checked and entered into `current_operations` (keyed by its task) in one synchronous
 * step, so two callers can never both pass the check; `allowed_operations` is recomputed
 * whenever either changes, so clients see what they may do next. Operations in flight die
 * with the master's process, which is why a master clears them all when it starts.
 */
import { ApiError } from '../../core/api-error.js';
import type { PatchOf, PoolDb, Row } from '../../core/ports/pool-db.js';
import type { RecordOf } from '../../core/record-of.js';
import { newRef, type Ref } from '../../core/ref.js';
import { computeAllowedOperations, vmOperationError, type VmOpView } from '../../core/vm-operations.js';
import type { VmOperations } from '../../datamodel/enums.js';
import type { ActionContext } from '../../core/action-context.js';
import '../common/hypervisor-errors.js';
import { updateApplianceAllowedOperations } from '../vm_appliance/appliance-operations.js';

export function vmOpView(row: Row): VmOpView {
  return {
    power_state: String(row.power_state),
    current_operations: (row.current_operations ?? {}) as Record<string, string>,
    blocked_operations: (row.blocked_operations ?? {}) as Record<string, string>,
    is_a_template: !!row.is_a_template,
    is_a_snapshot: !!row.is_a_snapshot,
    is_control_domain: !!row.is_control_domain,
  };
}

export function getVm(db: PoolDb, vm: Ref<'VM'>): RecordOf<'VM'> {
  const row = db.get('VM', vm);
  if (!row) throw new ApiError('HANDLE_INVALID', ['VM', vm]);
  return row;
}

/** Refuses `op` on the VM as xapi would (VM_BAD_POWER_STATE, OTHER_OPERATION_IN_PROGRESS…). */
export function assertVmOperation(db: PoolDb, vm: Ref<'VM'>, op: VmOperations): void {
  const err = vmOperationError(vm, vmOpView(getVm(db, vm)), op);
  if (err) throw new ApiError(err[0], [...err[1]]);
}

/**
 * Writes `patch` to the VM and brings `allowed_operations` up to date, in one change: the
 * VM's and its appliance's, whose operations depend on its members' power states.
 */
export function updateVm(db: PoolDb, vm: Ref<'VM'>, patch: PatchOf<'VM'>): void {
  db.transaction(() => {
    if (Object.keys(patch).length > 0) db.update('VM', vm, patch);
    const row = getVm(db, vm);
    db.update('VM', vm, { allowed_operations: computeAllowedOperations(vm, vmOpView(row)) });
    updateApplianceAllowedOperations(db, row.appliance);
  });
}

export function updateVmAllowedOperations(db: PoolDb, vm: Ref<'VM'>): void {
  updateVm(db, vm, {});
}

const idleWaiters = new Map<string, Array<() => void>>();

/** Runs `cb` once the VM has no operation in progress (at once if it has none). */
export function whenVmIdle(db: PoolDb, vm: Ref<'VM'>, cb: () => void): void {
  const row = db.get('VM', vm);
  if (!row || Object.keys((row.current_operations ?? {}) as object).length === 0) {
    cb();
    return;
  }
  const list = idleWaiters.get(vm) ?? [];
  list.push(cb);
  idleWaiters.set(vm, list);
}

/**
 * Runs `fn` as operation `op` of the VM: refused at once if the VM's state or its other
 * operations forbid it, listed in `current_operations` while it runs, removed after.
 */
export async function withVmOperation<T>(
  ctx: ActionContext, vm: Ref<'VM'>, op: VmOperations,
  /** `atRelease` writes the outcome in the same change that lets go of the VM. */
  fn: (opRef: string, atRelease: (write: () => void) => void) => Promise<T>,
  /** More of the VM's fields to set in the same change that takes the lock. */
  begin: PatchOf<'VM'> = {},
): Promise<T> {
  const db = ctx.db;
  const opRef = ctx.task?.ref ?? newRef<'task'>();
  db.transaction(() => {
    assertVmOperation(db, vm, op);
    const cur = { ...getVm(db, vm).current_operations, [opRef]: op };
    updateVm(db, vm, { ...begin, current_operations: cur });
  });
  let settle: (() => void) | undefined;
  try {
    return await fn(opRef, (write) => { settle = write; });
  } finally {
    const row = db.get('VM', vm);
    if (row) {
      const cur = { ...row.current_operations };
      delete cur[opRef];
      let failed: unknown;
      db.transaction(() => {
        // The lock goes even if recording the outcome fails.
        try { settle?.(); } catch (e) { failed = e; }
        updateVm(db, vm, { current_operations: cur });
      });
      if (Object.keys(cur).length === 0) {
        const waiters = idleWaiters.get(vm) ?? [];
        idleWaiters.delete(vm);
        for (const w of waiters) w();
      }
      if (failed !== undefined) throw failed;
    }
  }
}

/** On a master's start: no operation of a previous run is still going. */
export function clearStaleVmOperations(db: PoolDb): void {
  db.transaction(() => {
    for (const [ref, row] of db.all('VM')) {
      const stale = Object.keys((row.current_operations ?? {}) as object).length > 0;
      const allowed = computeAllowedOperations(ref, vmOpView({ ...row, current_operations: {} }));
      const same = JSON.stringify(allowed) === JSON.stringify(row.allowed_operations);
      if (stale || !same) db.update('VM', ref, { current_operations: {}, allowed_operations: allowed });
    }
    for (const [ref, row] of db.all('host')) {
      if (Object.keys((row.current_operations ?? {}) as object).length > 0) db.update('host', ref, { current_operations: {} });
    }
  });
}
