/**
 * @module
 * The VM records that snapshot, clone and copy make, and what revert takes back from a
 * snapshot, following xapi's rules: a snapshot is a halted template with `is_a_snapshot`,
 * `snapshot_of` and `snapshot_time`, carrying the VM's record of that moment in
 * `snapshot_metadata`; it inherits the VM's `parent`, and becomes the VM's new `parent`, so
 * `parent`/`children` form the snapshot tree. Clones and copies start new trees.
 */
import type { Row } from '../../core/ports/pool-db.js';
import { NULL_REF, newUuid, xapiDate, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { copyRow, storedFields } from './row-copy.js';

export type VmCopyKind = 'snapshot' | 'clone' | 'copy';

export const EPOCH = '19700101T00:00:00Z';
const MAC_SEED = 'mac_seed';

function otherConfigFor(vm: Row, kind: VmCopyKind): Record<string, string> {
  const oc = { ...(vm.other_config as Record<string, string>) };
  if (kind !== 'snapshot') oc[MAC_SEED] = newUuid();
  delete oc.default_template;
  delete oc.xensource_internal;
  if (vm.is_a_template === true && oc.base_template_name === undefined) oc.base_template_name = String(vm.name_label);
  return oc;
}

/** Makes the new VM record (no drives yet) and, for a snapshot, makes it the VM's parent. */
export function copyVmRecord(ctx: ActionContext, vmRef: Ref<'VM'>, vm: Row, kind: VmCopyKind, newName: string): Ref<'VM'> {
  const snap = kind === 'snapshot';
  const ref = copyRow(ctx, 'VM', vm, {
    name_label: newName,
    power_state: 'Halted',
    is_a_template: snap || vm.is_a_template === true,
    is_default_template: false,
    is_a_snapshot: snap,
    snapshot_of: snap ? vmRef : NULL_REF,
    snapshot_time: snap ? xapiDate(ctx.services.now()) : EPOCH,
    snapshot_info: snap ? { 'power-state-at-snapshot': String(vm.power_state), 'disk-snapshot-type': 'crash_consistent' } : {},
    snapshot_metadata: snap ? JSON.stringify(storedFields('VM', vm)) : '',
    transportable_snapshot_id: '',
    parent: snap ? (vm.parent ?? NULL_REF) : NULL_REF,
    other_config: otherConfigFor(vm, kind),
    suspend_VDI: NULL_REF,
    suspend_SR: NULL_REF,
    blocked_operations: {},
    ha_always_run: false,
    protection_policy: NULL_REF,
    is_snapshot_from_vmpp: false,
    snapshot_schedule: NULL_REF,
    is_vmss_snapshot: false,
    appliance: NULL_REF,
    start_delay: 0,
    shutdown_delay: 0,
    order: 0,
    version: 0,
    generation_id: kind === 'snapshot' ? vm.generation_id : `${Date.now()}:${Math.floor(Math.random() * 2 ** 31)}`,
  });
  if (snap) ctx.db.update('VM', vmRef, { parent: ref });
  return ref;
}

/** Fields revert never takes from the snapshot (xapi's do_not_copy). */
const KEEP_ON_REVERT = new Set([
  'uuid', 'suspend_VDI', 'power_state', 'parent', 'current_operations', 'allowed_operations', 'metrics',
  'guest_metrics', 'resident_on', 'domid', 'protection_policy', 'is_snapshot_from_vmpp', 'snapshot_schedule', 'scheduled_to_be_resident_on',
  'snapshots', 'tags', 'affinity', 'groups', 'consoles', 'VBDs', 'VIFs', 'VGPUs', 'VUSBs', 'VTPMs', 'attached_PCIs',
  'children',
  // Islet's own: a VM's blobs are its notes, not part of its configuration, and a snapshot's
  // record of them may name blobs destroyed since.
  'blobs',
]);

/** Gives the VM back the configuration recorded in the snapshot. */
export function revertVmFields(ctx: ActionContext, vmRef: Ref<'VM'>, snapshot: Row): void {
  let saved: Row;
  try {
    saved = JSON.parse(String(snapshot.snapshot_metadata || '{}')) as Row;
  } catch {
    saved = {};
  }
  const current = storedFields('VM', { ...saved });
  const patch: Row = {};
  for (const [k, v] of Object.entries(current)) if (!KEEP_ON_REVERT.has(k)) patch[k] = v;
  patch.ha_always_run = false;
  ctx.db.update('VM', vmRef, patch);
}
