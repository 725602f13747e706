/**
 * @module
 * VMs for the hotfix pool tests: one started on a given host with its disk on the shared SR,
 * and a watcher of their power states through `event.from` on the master that rides out
 * the master's own restarts (it logs in again and reads every VM afresh, so a state it
 * missed while the master was down would still show up as a non-Running snapshot).
 */
import type { XapiClient } from '../../src/client/xapi-client.js';
import { completeRecord } from '../../src/client/create-record.js';

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
export async function watchVms(
  c: XapiClient, vms: readonly string[], fn: () => Promise<void>,
  client?: () => Promise<XapiClient>,
): Promise<Map<string, Set<string>>> {
  const seen = new Map(vms.map((vm) => [vm, new Set<string>()]));
  const hosts = new Map(vms.map((vm) => [vm, [] as string[]]));
  let watching = true;
  let cur = c;
  const watcher = (async () => {
    let token = '';
    while (watching) {
      try {
        const batch = (await cur.call('event.from', ['vm'], token, 1.0)) as { token: string; events: Array<{ ref: string; snapshot?: Record<string, unknown> }> };
        token = batch.token;
        for (const e of batch.events) {
          if (!e.snapshot || !seen.has(e.ref)) continue;
          seen.get(e.ref)!.add(String(e.snapshot.power_state));
          const h = String(e.snapshot.resident_on);
          if (hosts.get(e.ref)!.at(-1) !== h) hosts.get(e.ref)!.push(h);
        }
      } catch {
        // The master is restarting: start over with a full read once it is back.
        token = '';
        await new Promise((r) => setTimeout(r, 500));
        if (client) cur = await client().catch(() => cur);
      }
    }
  })();
  try {
    await fn();
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    watching = false;
    await watcher;
  }
  return Object.assign(seen, { hostsOf: hosts }) as Map<string, Set<string>>;
}
