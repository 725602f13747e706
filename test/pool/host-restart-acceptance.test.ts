/**
 * Issue 5's host restart acceptance, on a 3-host pool of real processes with VMs running
 * on the shared SR: `xe-toolstack-restart` on a member keeps every VM on it running (an
 * event.from watcher on the master sees none leave `Running`, reads of their power states
 * from before the restart, during it and after it all answer `Running`, and the guests are
 * the same boots); a member evacuated and rebooted comes back live with a later boot_time; and a
 * master killed with SIGKILL comes back with the pool, its members and their VMs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { SimHypervisorClient } from '../../src/hypervisor/sim-hypervisor-client.js';
import { startPool, waitFor, type IsletPool } from '../helpers/islet-pool.js';
import { repoRoot } from '../helpers/repo-root.js';
import { watchVms } from '../helpers/watch-events.js';
import { completeRecord } from '../../src/client/create-record.js';

const run = promisify(execFile);

/** One read of a VM's power state: when it was sent and when it was answered. */
interface PowerSample {
  readonly vm: string;
  readonly state: string;
  readonly sent: number;
  readonly answered: number;
}
const MiB = 1024 * 1024;

describe('host restarts with running VMs', { timeout: 600_000 }, () => {
  let pool: IsletPool;
  let c: XapiClient;
  const refs: string[] = [];
  let sr = '';

  const live = async (i: number) => (await c.call('host_metrics.get_live', await c.call('host.get_metrics', refs[i]))) === true;
  const otherConfig = async (i: number) => (await c.call('host.get_other_config', refs[i])) as Record<string, string>;
  const guestBoots = async (i: number) => {
    const hv = await SimHypervisorClient.connect({ stateDir: join(pool.hosts[i]!.dataDir, 'hypervisor') });
    try {
      return new Map((await hv.list()).map((d) => [d.vmUuid, d.guestBootId]));
    } finally {
      await hv.close();
    }
  };
  const startVm = async (name: string, host: number): Promise<string> => {
    const m = 256 * MiB;
    const vm = String(await c.call('VM.create', completeRecord('VM', {
      name_label: name, memory_static_max: m, memory_dynamic_max: m, memory_dynamic_min: m, memory_static_min: m,
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
    await c.call('VM.start_on', vm, refs[host], false, false);
    assert.equal(await c.call('VM.get_resident_on', vm), refs[host]);
    return vm;
  };
  /** Power states an event.from watcher sees for `vms` while `fn` runs (the states they had before are not counted). */
  const watchPowerStates = (vms: string[], fn: () => Promise<void>) => watchVms(c, vms, fn, { fromNow: true });
  /**
   * Reads the power state of each of `vms` from the master, one read after another, while
   * `fn` runs, with when each read was sent and answered. A VM that changes nothing sends no
   * event, so the event watcher alone may see nothing at all; these reads show what the
   * VMs' states were all through the work.
   */
  const samplePowerStates = async (vms: string[], fn: () => Promise<void>): Promise<PowerSample[]> => {
    const samples: PowerSample[] = [];
    let done = false;
    const sampler = (async () => {
      while (!done) {
        for (const vm of vms) {
          const sent = Date.now();
          const state = String(await c.call('VM.get_power_state', vm));
          samples.push({ vm, state, sent, answered: Date.now() });
        }
        await sleep(100);
      }
    })();
    try {
      // A first read of every VM before the work starts.
      await waitFor(() => samples.length >= vms.length, 30_000, 'a first read of every VM\'s power state');
      await fn();
      // And one sent after it ended.
      const end = Date.now();
      await waitFor(() => vms.every((vm) => samples.some((s) => s.vm === vm && s.sent > end)), 30_000, 'a read of every VM after the work');
    } finally {
      done = true;
      await sampler;
    }
    return samples;
  };

  before(async () => {
    pool = await startPool({ hosts: 3, memory: '4G' });
    c = await pool.client();
    for (let i = 0; i < 3; i++) refs.push(await pool.hostRef(i));
    const poolRef = ((await c.call('pool.get_all')) as string[])[0]!;
    sr = String(await c.call('pool.get_default_SR', poolRef));
  });
  after(async () => {
    c?.close();
    await pool?.stop();
  });

  it('xe-toolstack-restart on a member: later agent_start_time, its VMs stay running throughout', async () => {
    const vms = [await startVm('tr0', 1), await startVm('tr1', 1)];
    const uuids = await Promise.all(vms.map(async (vm) => String(await c.call('VM.get_uuid', vm))));
    const boots = await guestBoots(1);
    const before = await otherConfig(1);
    // The restart's window: from just before the tool runs to the later agent_start_time.
    let restartFrom = 0;
    let restartTo = 0;
    const samples: PowerSample[] = [];
    const seen = await watchPowerStates(vms, async () => {
      samples.push(...await samplePowerStates(vms, async () => {
        restartFrom = Date.now();
        const tool = join(repoRoot(), 'bin', 'xe-toolstack-restart');
        const { stdout } = await run(process.execPath, [tool, '--data-dir', pool.hosts[1]!.dataDir], { timeout: 120_000 });
        assert.match(stdout, /done\./);
        await waitFor(async () => Number((await otherConfig(1)).agent_start_time) > Number(before.agent_start_time), 20_000, 'a later agent_start_time');
        restartTo = Date.now();
      }));
    });
    assert.equal((await otherConfig(1)).boot_time, before.boot_time);
    for (const [i, vm] of vms.entries()) {
      assert.equal(await c.call('VM.get_power_state', vm), 'Running');
      assert.equal(await c.call('VM.get_resident_on', vm), refs[1]);
      // The observation spans the restart: reads before it, during it and after it.
      const mine = samples.filter((s) => s.vm === vm);
      const during = mine.filter((s) => s.sent >= restartFrom && s.answered <= restartTo);
      assert.ok(mine.some((s) => s.answered < restartFrom), `VM ${i}: no read of its power state before the restart`);
      assert.ok(during.length > 0, `VM ${i}: no read of its power state during the restart (${mine.length} reads in all)`);
      assert.ok(mine.some((s) => s.sent > restartTo), `VM ${i}: no read of its power state after the restart`);
      const states = [...seen.get(vm)!, ...mine.map((s) => s.state)];
      assert.ok(states.every((s) => s === 'Running'), `VM ${i} power states seen: ${[...new Set(states)]}`);
    }
    const after = await guestBoots(1);
    for (const u of uuids) assert.equal(after.get(u), boots.get(u), 'the same guest boot');
  });

  it('a member is evacuated and rebooted: it comes back live, enabled on request, with a later boot_time', async () => {
    const before = await otherConfig(1);
    const resident = (await c.call('host.get_resident_VMs', refs[1])) as string[];
    const vms: string[] = [];
    for (const vm of resident) if ((await c.call('VM.get_is_control_domain', vm)) !== true) vms.push(vm);
    assert.ok(vms.length > 0);
    await c.call('host.disable', refs[1]);
    await c.callAsync('host.evacuate', refs[1]);
    for (const vm of vms) {
      assert.equal(await c.call('VM.get_power_state', vm), 'Running');
      assert.notEqual(await c.call('VM.get_resident_on', vm), refs[1]);
    }
    await c.callAsync('host.reboot', refs[1]);
    await waitFor(async () => Number((await otherConfig(1)).boot_time) > Number(before.boot_time), 60_000, 'a later boot_time');
    await waitFor(() => live(1), 30_000, 'host1 live');
    await c.call('host.enable', refs[1]);
    assert.equal(await c.call('host.get_enabled', refs[1]), true);
    for (const vm of vms) assert.equal(await c.call('VM.get_power_state', vm), 'Running');
  });

  it('kill -9 of the master: after its restart the pool, the members and their VMs are all there', async () => {
    const all = (await c.call('VM.get_all_records_where', 'field "power_state"="Running" and field "is_control_domain"="false"')) as Record<string, { resident_on: string }>;
    const running = Object.keys(all).filter((vm) => all[vm]!.resident_on !== refs[0]);
    if (running.length === 0) running.push(await startVm('on-member', 2));
    const onMaster = await startVm('on-master', 0);
    await pool.kill9Host(0);
    await pool.startHost(0);
    c.close();
    c = await waitFor(() => pool.client(), 60_000, 'a login on the restarted master');
    assert.deepEqual(((await c.call('host.get_all')) as string[]).sort(), [...refs].sort());
    for (let i = 0; i < 3; i++) await waitFor(() => live(i), 30_000, `host${i} live`);
    for (const vm of running) assert.equal(await c.call('VM.get_power_state', vm), 'Running', 'VMs on members kept running');
    // The master's own domains died with it.
    await waitFor(async () => (await c.call('VM.get_power_state', onMaster)) === 'Halted', 30_000, 'the master\'s VM halted');
  });
});
