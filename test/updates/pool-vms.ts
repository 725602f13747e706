/**
 * @module
 * VMs for the hotfix pool tests: one started on a given host with its disk on the shared SR,
 * and a watcher of their power states through `event.from` on the master that rides out
 * the master's own restarts (it logs in again and reads every VM afresh, so a state it
 * missed while the master was down would still show up as a non-Running snapshot).
 */
import type { XapiClient } from '../../src/client/xapi-client.js';
import { completeRecord } from '../../src/client/create-record.js';
import { watchVms as watchVmStates, type SeenStates } from '../helpers/watch-events.js';

const MiB = 1024 * 1024;

export async function startRunningVm(c: XapiClient, sr: string, name: string, host: string, memory = 256 * MiB): Promise<string> {
  const vm = String(await c.call('VM.create', completeRecord('VM', {
    name_label: name, memory_static_max: memory, memory_dynamic_max: memory, memory_dynamic_min: memory, memory_static_min: memory,
    VCPUs_max: 1, VCPUs_at_startup: 1, actions_after_reboot: 'restart',
  })));
  const vdi = await c.callAsync('VDI.create', {
    name_label: `${name} disk`, name_description: '', SR: sr, virtual_size: 32 * MiB, type: 'user',
    sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
  });
  await c.call('VBD.create', {
    VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', unpluggable: false, empty: false,
    qos_algorithm_type: '', qos_algorithm_params: {}, other_config: {}, device: '', currently_attached: false,
  });
  await c.call('VM.start_on', vm, host, false, false);
  return vm;
}

/**
 * Runs `fn` while watching the VMs' power states (and where they run) on the master; returns
 * every power state seen per VM. `client` gives a fresh logged-in client after a failure.
 */
export function watchVms(
  c: XapiClient, vms: readonly string[], fn: () => Promise<void>,
  client?: () => Promise<XapiClient>,
): Promise<SeenStates> {
  // Without a way to log in again it still rides out a failed call, with the same client.
  return watchVmStates(c, vms, fn, { client: client ?? (async () => c) });
}
