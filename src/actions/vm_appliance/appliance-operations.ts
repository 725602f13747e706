/**
 * @module
 * Which operations an appliance allows, and its operation lock, as xapi keeps them: one
 * operation at a time (OTHER_OPERATION_IN_PROGRESS for a second), none on an appliance
 * without VMs, and each only when some member VM is in a state it would change (a start
 * needs a halted VM, a clean shutdown a running one, the other shutdowns any VM not
 * halted). `allowed_operations` is recomputed whenever the appliance's lock or a member
 * VM's power state or membership changes.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { PoolDb } from '../../core/ports/pool-db.js';
import { isNullRef, newRef, type Ref } from '../../core/ref.js';
import type { ErrorCode } from '../../datamodel/errors.js';
import type { VmApplianceOperation } from '../../datamodel/enums.js';

const OPERATIONS: readonly VmApplianceOperation[] = ['start', 'clean_shutdown', 'hard_shutdown', 'shutdown'];

/** What each operation needs of at least one member, and what xapi says when none has it. */
const NEEDS: Record<VmApplianceOperation, { readonly ok: (powerState: string) => boolean; readonly none: string }> = {
  start: { ok: (s) => s === 'Halted', none: 'There are no halted VMs in this appliance.' },
  clean_shutdown: { ok: (s) => s === 'Running', none: 'There are no running VMs in this appliance.' },
  hard_shutdown: { ok: (s) => s !== 'Halted', none: 'All VMs in this appliance are halted.' },
  shutdown: { ok: (s) => s !== 'Halted', none: 'All VMs in this appliance are halted.' },
};

type Refusal = readonly [ErrorCode, readonly string[]];

function refusal(db: PoolDb, appliance: Ref<'VM_appliance'>, op: VmApplianceOperation): Refusal | undefined {
  const row = db.get('VM_appliance', appliance);
  if (!row) return ['HANDLE_INVALID', ['VM_appliance', appliance]];
  const running = Object.entries(row.current_operations ?? {});
  if (running.length > 0) {
    const [task, other] = running[0]!;
    return ['OTHER_OPERATION_IN_PROGRESS', ['VM_appliance', appliance, other, task]];
  }
  const vms = row.VMs ?? [];
  if (vms.length === 0) return ['OPERATION_NOT_ALLOWED', ['Appliance has no VMs.']];
  const states = vms.map((vm) => String(db.get('VM', vm)?.power_state ?? ''));
  return states.some(NEEDS[op].ok) ? undefined : ['OPERATION_NOT_ALLOWED', [NEEDS[op].none]];
}

export function assertApplianceOperation(db: PoolDb, appliance: Ref<'VM_appliance'>, op: VmApplianceOperation): void {
  const r = refusal(db, appliance, op);
  if (r) throw new ApiError(r[0], [...r[1]]);
}

/** Brings the appliance's `allowed_operations` up to date; an appliance that is gone is left alone. */
export function updateApplianceAllowedOperations(db: PoolDb, appliance: Ref<'VM_appliance'>): void {
  if (isNullRef(appliance)) return;
  const row = db.get('VM_appliance', appliance);
  if (!row) return;
  const allowed = OPERATIONS.filter((op) => refusal(db, appliance, op) === undefined);
  if (JSON.stringify(allowed) !== JSON.stringify(row.allowed_operations ?? [])) {
    db.update('VM_appliance', appliance, { allowed_operations: allowed });
  }
}

/** Runs `fn` as the appliance's one operation: refused at once if it may not start, listed while it runs. */
export async function withApplianceOperation<T>(
  ctx: ActionContext, appliance: Ref<'VM_appliance'>, op: VmApplianceOperation, fn: () => Promise<T>,
): Promise<T> {
  const db = ctx.db;
  const key = ctx.task?.ref ?? newRef<'task'>();
  db.transaction(() => {
    assertApplianceOperation(db, appliance, op);
    const cur = { ...db.get('VM_appliance', appliance)!.current_operations, [key]: op };
    db.update('VM_appliance', appliance, { current_operations: cur });
    updateApplianceAllowedOperations(db, appliance);
  });
  try {
    return await fn();
  } finally {
    const row = db.get('VM_appliance', appliance);
    if (row) {
      db.transaction(() => {
        const cur = { ...row.current_operations };
        delete cur[key];
        db.update('VM_appliance', appliance, { current_operations: cur });
        updateApplianceAllowedOperations(db, appliance);
      });
    }
  }
}
