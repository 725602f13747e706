/**
 * Issue 5's evacuation acceptance, as a new user would try it: a 3-host pool of real
 * processes (`islet pool up`), four VMs with disks on the shared SR started on the master,
 * then `xe host-disable` and `xe host-evacuate` of the master. Every VM ends up running on
 * the other hosts, an `event.from` watcher sees none of them leave `running`, and each
 * guest is the same boot as before (read from the hosts' hypervisor processes).
 * A member's toolstack crash leaves its VMs running; the member's crash halts them.
 * Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { SimHypervisorClient } from '../../src/hypervisor/sim-hypervisor-client.js';
import { startPool, waitFor, type IsletPool } from '../helpers/islet-pool.js';
import { repoRoot } from '../helpers/repo-root.js';
import { watchVms } from '../helpers/watch-events.js';
import { completeRecord } from '../../src/client/create-record.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

describe('evacuating the master of a 3-host pool', { timeout: 600_000 }, () => {
  let pool: IsletPool;
  let c: XapiClient;

  before(async () => {
    pool = await startPool({ hosts: 3, memory: '4G', migrationRate: 1024 });
    c = await pool.client();
  });
  after(async () => {
    c?.close();
    await pool?.stop();
  });

  const xe = async (...args: string[]) => {
    const port = String(new URL(pool.masterUrl).port);
    const { stdout } = await run(process.execPath, [join(repoRoot(), 'bin', 'xe'), '-s', '127.0.0.1', '-p', port, '-pw', pool.rootPassword, ...args]);
    return stdout;
  };
  const bootIds = async () => {
    const out = new Map<string, { host: number; boot: string }>();
    for (const h of pool.hosts) {
      const hv = await SimHypervisorClient.connect({ stateDir: join(h.dataDir, 'hypervisor') });
      try {
        for (const d of await hv.list()) out.set(d.vmUuid, { host: h.index, boot: d.guestBootId });
      } finally {
        await hv.close();
      }
    }
    return out;
  };

  it('xe host-disable + xe host-evacuate move every VM live off the master', async () => {
    const poolRef = ((await c.call('pool.get_all')) as string[])[0]!;
    const sr = String(await c.call('pool.get_default_SR', poolRef));
    assert.equal(await c.call('SR.get_shared', sr), true);
    const master = String(await c.call('pool.get_master', poolRef));
    const masterUuid = String(await c.call('host.get_uuid', master));

    const vms: string[] = [];
    for (let i = 0; i < 4; i++) {
      const m = 512 * MiB;
      const vm = String(await c.call('VM.create', completeRecord('VM', {
        name_label: `evac${i}`, memory_static_max: m, memory_dynamic_max: m, memory_dynamic_min: m, memory_static_min: m,
        VCPUs_max: 1, VCPUs_at_startup: 1, actions_after_reboot: 'restart',
      })));
      const vdi = await c.callAsync('VDI.create', {
        name_label: `evac${i} disk`, name_description: '', SR: sr, virtual_size: 64 * MiB, type: 'user',
        sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
      });
      await c.call('VBD.create', {
        VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', unpluggable: false, empty: false,
        qos_algorithm_type: '', qos_algorithm_params: {}, other_config: {}, device: '', currently_attached: false,
      });
      await xe('vm-start', `uuid=${await c.call('VM.get_uuid', vm)}`, 'on=host0');
      assert.equal(await c.call('VM.get_resident_on', vm), master);
      vms.push(vm);
    }
    const uuids = await Promise.all(vms.map(async (vm) => String(await c.call('VM.get_uuid', vm))));
    const before = await bootIds();
    for (const u of uuids) assert.equal(before.get(u)?.host, 0);

    // An event.from watcher on every VM change while the evacuation runs.
    const seen = await watchVms(c, vms, async () => {
      await xe('host-disable', `uuid=${masterUuid}`);
      assert.equal(await c.call('host.get_enabled', master), false);
      await xe('host-evacuate', `uuid=${masterUuid}`);
    }, { fromNow: true });

    const after = await bootIds();
    for (const [i, vm] of vms.entries()) {
      assert.equal(await c.call('VM.get_power_state', vm), 'Running');
      const host = String(await c.call('VM.get_resident_on', vm));
      assert.notEqual(host, master);
      const now = after.get(uuids[i]!)!;
      assert.ok(now.host === 1 || now.host === 2, `VM ${i} runs on host${now.host}`);
      assert.equal(now.boot, before.get(uuids[i]!)!.boot, `VM ${i} was not rebooted`);
      const saw = [...seen.get(vm)!];
      assert.ok(saw.length > 0, `the watcher saw VM ${i} change`);
      assert.deepEqual(saw, ['Running'], `VM ${i} power states seen: ${saw.join(', ')}`);
    }
    // Only the master's control domain stays: it never leaves its host.
    const left = (await c.call('host.get_resident_VMs', master)) as string[];
    assert.deepEqual(left, [await c.call('host.get_control_domain', master)]);
    await xe('host-enable', `uuid=${masterUuid}`);
    for (const vm of vms) await c.call('VM.hard_shutdown', vm);
  });

  it('a member\'s VMs survive its toolstack crash, and halt when the member itself crashes', async () => {
    const host1 = await pool.hostRef(1);
    const m = 256 * MiB;
    const vm = String(await c.call('VM.create', completeRecord('VM', {
      name_label: 'on-member', memory_static_max: m, memory_dynamic_max: m, memory_dynamic_min: m, memory_static_min: m,
      VCPUs_max: 1, VCPUs_at_startup: 1,
    })));
    await c.call('VM.start_on', vm, host1, false, false);
    const uuid = String(await c.call('VM.get_uuid', vm));
    const boot = (await bootIds()).get(uuid)!;
    assert.equal(boot.host, 1);

    await pool.kill9Toolstack(1);
    await waitFor(async () => (await pool.hostStatus(1)).state === 'up', 60_000, 'host1 toolstack back');
    // The restarted member reconciles through the master; the guest has not noticed.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await c.call('VM.get_power_state', vm), 'Running');
    assert.equal((await bootIds()).get(uuid)?.boot, boot.boot);
    // Work on the member waits until the master reaches its new toolstack again.
    await waitFor(async () => { await c.call('VM.clean_reboot', vm); return true; }, 60_000, 'a reboot through host1');
    assert.notEqual((await bootIds()).get(uuid)?.boot, boot.boot);

    await pool.kill9Host(1);
    await pool.startHost(1);
    await waitFor(async () => (await c.call('VM.get_power_state', vm)) === 'Halted', 60_000, 'the VM halted by the crash');
    assert.equal(await c.call('VM.get_resident_on', vm), 'OpaqueRef:NULL');
    await waitFor(async () => { await c.call('VM.start_on', vm, host1, false, false); return true; }, 60_000, 'a start on host1');
    assert.equal(await c.call('VM.get_power_state', vm), 'Running');

    // And xe moves it on, live, from one member to the other.
    const again = (await bootIds()).get(uuid)!;
    await xe('vm-migrate', `uuid=${uuid}`, 'host=host2', 'live=true');
    assert.equal(await c.call('VM.get_resident_on', vm), await pool.hostRef(2));
    assert.deepEqual((await bootIds()).get(uuid), { host: 2, boot: again.boot });
    await c.call('VM.hard_shutdown', vm);
  });
});
