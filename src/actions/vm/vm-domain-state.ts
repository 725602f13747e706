/**
 * @module
 * What the database says about a VM once its domain has changed: running or paused on a
 * host (with its domid, start time and measured memory), halted, or suspended. Every
 * power action and the reconciliation with a host's hypervisor write through these, so
 * `power_state`, `resident_on`, `domid`, `VM_metrics` and the VBDs' and VIFs'
 * `currently_attached` always change together, in one generation.
 */
import type { DomainInfo } from '../../core/ports/hypervisor.js';
import type { PoolDb } from '../../core/ports/pool-db.js';
import { NULL_REF, isNullRef, newRef, newUuid, xapiDate, type Ref } from '../../core/ref.js';
import { recordNics } from '../vif/vif-devices.js';
import { getVm, updateVm } from './vm-operation-lock.js';

/** The VM's metrics record, made if the VM has none yet (VMs made by `VM.create`). */
function ensureMetrics(db: PoolDb, vm: Ref<'VM'>): Ref<'VM_metrics'> {
  const cur = getVm(db, vm).metrics;
  if (!isNullRef(cur) && db.get('VM_metrics', cur)) return cur;
  const ref = newRef<'VM_metrics'>();
  db.create('VM_metrics', ref, { uuid: newUuid(), install_time: xapiDate(), last_updated: xapiDate() });
  db.update('VM', vm, { metrics: ref });
  return ref;
}

function setDisksAttached(db: PoolDb, vm: Ref<'VM'>, attached: boolean): void {
  for (const vbd of getVm(db, vm).VBDs ?? []) {
    const row = db.get('VBD', vbd);
    if (row && !row.empty && row.currently_attached !== attached) db.update('VBD', vbd, { currently_attached: attached });
  }
}

/** The domain `d` on `host` is the VM's: Running or Paused there. */
export function markRunning(db: PoolDb, vm: Ref<'VM'>, host: Ref<'host'>, d: DomainInfo, overhead?: number): void {
  db.transaction(() => {
    const metrics = ensureMetrics(db, vm);
    db.update('VM_metrics', metrics, {
      memory_actual: d.memory,
      VCPUs_number: d.vcpus,
      start_time: xapiDate(new Date(d.startedAt * 1000)),
      last_updated: xapiDate(),
      state: [],
    });
    setDisksAttached(db, vm, true);
    recordNics(db, vm, d);
    updateVm(db, vm, {
      power_state: d.state === 'running' ? 'Running' : 'Paused',
      resident_on: host,
      scheduled_to_be_resident_on: NULL_REF,
      domid: d.domid,
      ...(overhead !== undefined ? { memory_overhead: overhead } : {}),
    });
  });
}

/** The VM's domain is gone (or never was): Halted, on no host. */
export function markHalted(db: PoolDb, vm: Ref<'VM'>): void {
  db.transaction(() => {
    const metrics = getVm(db, vm).metrics;
    if (!isNullRef(metrics) && db.get('VM_metrics', metrics)) {
      db.update('VM_metrics', metrics, { memory_actual: 0, VCPUs_number: 0, last_updated: xapiDate() });
    }
    setDisksAttached(db, vm, false);
    recordNics(db, vm, undefined);
    updateVm(db, vm, {
      power_state: 'Halted', resident_on: NULL_REF, scheduled_to_be_resident_on: NULL_REF, domid: -1,
    });
  });
}

/** The VM's memory is saved in an image; no domain runs it. */
export function markSuspended(db: PoolDb, vm: Ref<'VM'>): void {
  db.transaction(() => {
    setDisksAttached(db, vm, false);
    recordNics(db, vm, undefined);
    updateVm(db, vm, {
      power_state: 'Suspended', resident_on: NULL_REF, scheduled_to_be_resident_on: NULL_REF, domid: -1,
    });
  });
}

/** Where a suspended VM's memory image is: the host that wrote it, and the path there. */
export interface SuspendImage {
  readonly host: Ref<'host'>;
  readonly path: string;
}

// `pool:` keys travel with the database to every member, so a new master knows them too.
const imageKey = (vmUuid: string) => `pool:islet_suspend_image:${vmUuid}`;

export function getSuspendImage(db: PoolDb, vmUuid: string): SuspendImage | undefined {
  const raw = db.getMeta(imageKey(vmUuid));
  return raw ? (JSON.parse(raw) as SuspendImage) : undefined;
}

export function setSuspendImage(db: PoolDb, vmUuid: string, img: SuspendImage | undefined): void {
  db.setMeta(imageKey(vmUuid), img ? JSON.stringify(img) : undefined);
}
