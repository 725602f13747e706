/**
 * @module
 * What the agent inside a guest reports about it: OS, driver versions and addresses.
 */
import { cls, runtime, rw, t } from './dsl.js';
import { tristateType } from './enums.js';

export const vmGuestMetrics = cls('VM_guest_metrics', {
  doc: 'Facts the guest agent reports about the running guest',
  writeRole: 'vm-admin',
  fields: [
    runtime('os_version', t.smap, 'Name and version of the guest operating system'),
    runtime('PV_drivers_version', t.smap, 'Versions of the paravirtual drivers in the guest'),
    runtime('PV_drivers_up_to_date', t.bool, 'Whether the drivers are current (obsolete)'),
    runtime('networks', t.smap, 'Addresses of the guest\'s network interfaces'),
    runtime('other', t.smap, 'Further facts the agent reports'),
    runtime('last_updated', t.datetime, 'When the agent last reported'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
    runtime('live', t.bool, 'Whether the agent is reporting'),
    runtime('can_use_hotplug_vbd', t.enum(tristateType), 'Whether disks may be added while the guest runs', { default: 'unspecified' }),
    runtime('can_use_hotplug_vif', t.enum(tristateType), 'Whether network interfaces may be added while the guest runs', { default: 'unspecified' }),
    runtime('PV_drivers_detected', t.bool, 'Whether paravirtual drivers are present in the guest'),
  ],
});
