/**
 * @module
 * Each host's control domain, the VM record XenServer keeps for dom0: always running on
 * its host with domain id 0, sized from the host's configuration, listed with the other
 * VMs (`xe vm-list is-control-domain=true`) and pointed at by `host.control_domain`.
 * Lifecycle operations on it are refused by the VM operation rules, as xapi refuses them.
 * A host makes its own at start, and keeps its memory and VCPU count current; after a
 * join the record travels to the master with the host (see pool/host-local-objects).
 */
import type { Services } from '../../core/action-context.js';
import { isNullRef, newRef, newUuid, xapiDate, type Ref } from '../../core/ref.js';
import { computeAllowedOperations } from '../../core/vm-operations.js';
import { vmOpView } from '../vm/vm-operation-lock.js';
import { changedFields } from '../common/changed-fields.js';

/** XenServer 6.0.2 gave dom0 752 MiB unless the administrator changed it. */
export const DEFAULT_DOM0_MEMORY = 752 * 1024 * 1024;

export interface ControlDomainSpec {
  readonly memory: number;
  readonly vcpus: number;
}

const DESCRIPTION = 'The domain which manages physical devices and manages other domains';

/** Makes this host's control domain if it has none, else brings its size up to date. */
export function ensureControlDomain(services: Services, spec: ControlDomainSpec): Ref<'VM'> {
  const { db, hostRef } = services;
  const host = db.get('host', hostRef);
  if (!host) throw new Error('this host has no record');
  const name = `Control domain on host: ${String(host.hostname || host.name_label)}`;
  const size = {
    memory_static_min: spec.memory, memory_static_max: spec.memory, memory_dynamic_min: spec.memory,
    memory_dynamic_max: spec.memory, memory_target: spec.memory, VCPUs_max: spec.vcpus, VCPUs_at_startup: spec.vcpus,
  };
  const existing = host.control_domain;
  const row = isNullRef(existing) ? undefined : db.get('VM', existing);
  if (row && row.is_control_domain === true) {
    const patch = changedFields(row, {
      ...size, name_label: row.name_label === '' ? name : row.name_label, resident_on: hostRef, power_state: 'Running' as const, domid: 0,
    });
    if (Object.keys(patch).length) db.update('VM', existing, patch);
    return existing;
  }
  const vm = newRef<'VM'>();
  const metrics = newRef<'VM_metrics'>();
  const now = xapiDate();
  db.transaction(() => {
    db.create('VM_metrics', metrics, {
      uuid: newUuid(), memory_actual: spec.memory, VCPUs_number: spec.vcpus, start_time: now, install_time: now,
      last_updated: now, state: [], current_domain_type: 'pv',
    });
    db.create('VM', vm, {
      uuid: newUuid(), name_label: name, name_description: DESCRIPTION, user_version: 1, is_a_template: false,
      is_control_domain: true, power_state: 'Running', domid: 0, resident_on: hostRef, affinity: hostRef,
      metrics, domain_type: 'pv', HVM_boot_policy: '', other_config: { storage_driver_domain: vm, is_system_domain: 'true' },
      ...size,
    });
    db.update('VM', vm, { allowed_operations: computeAllowedOperations(vm, vmOpView(db.get('VM', vm)!)) });
    db.update('host', hostRef, { control_domain: vm });
  });
  return vm;
}
