/**
 * A host's toolstack and its hypervisor process, as separate real processes: the domains
 * outlive a toolstack crash (the restarted toolstack finds the same guest running), and end
 * with the hypervisor (a host crash), after which the VMs are Halted, whether the toolstack
 * was down at the time or saw it happen. Needs `npm run build` (bin/islet runs dist/).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { SimHypervisorClient } from '../../src/hypervisor/sim-hypervisor-client.js';
import { startHypervisorSim } from '../helpers/hypervisor-sim.js';
import { type IsletProcess, startIslet } from '../helpers/islet-server.js';
import { completeRecord } from '../../src/client/create-record.js';

const MiB = 1024 * 1024;
const PW = 'hv-process-pw';

async function connect(islet: IsletProcess): Promise<XapiClient> {
  const api = new XapiClient({ url: islet.url });
  await api.login('root', PW);
  return api;
}

async function until(what: () => Promise<boolean>, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    if (await what().catch(() => false)) return;
  }
  assert.fail('condition not reached in time');
}

async function runningVm(api: XapiClient): Promise<string> {
  const m = 128 * MiB;
  const vm = String(await api.call('VM.create', completeRecord('VM', {
    name_label: 'survivor', memory_static_max: m, memory_dynamic_max: m, memory_dynamic_min: m, memory_static_min: m,
    VCPUs_max: 1, VCPUs_at_startup: 1,
  })));
  await api.call('VM.start', vm, false, false);
  return vm;
}

async function guestBoot(islet: IsletProcess, api: XapiClient, vm: string): Promise<string | undefined> {
  const hv = await SimHypervisorClient.connect({ stateDir: join(islet.dataDir, 'hypervisor') });
  try {
    const uuid = await api.call('VM.get_uuid', vm);
    return (await hv.list()).find((d) => d.vmUuid === uuid)?.guestBootId;
  } finally {
    await hv.close();
  }
}

describe('the toolstack and its hypervisor process', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => { for (const c of cleanup.reverse()) await c().catch(() => undefined); });

  it('a VM keeps running through a toolstack crash and restart', async () => {
    const first = await startIslet({ rootPassword: PW });
    cleanup.push(() => first.stop());
    let api = await connect(first);
    const vm = await runningVm(api);
    const boot = await guestBoot(first, api, vm);
    const hvPid = await first.hypervisorPid();
    assert.ok(boot && hvPid);
    api.close();

    await first.kill9();
    const second = await first.restart();
    cleanup.push(() => second.stop());
    assert.equal(await second.hypervisorPid(), hvPid, 'the same hypervisor process');
    api = await connect(second);
    assert.equal(await api.call('VM.get_power_state', vm), 'Running');
    assert.equal(await guestBoot(second, api, vm), boot);
    assert.deepEqual(await api.call('VM.get_current_operations', vm), {});
    // The restarted toolstack drives the same domain.
    await api.call('VM.clean_shutdown', vm);
    assert.equal(await api.call('VM.get_power_state', vm), 'Halted');
    await api.call('VM.start', vm, false, false);
    api.close();
  });

  it('VMs are Halted after a host crash, seen at restart or while running', async () => {
    const first = await startIslet({ rootPassword: PW });
    cleanup.push(() => first.stop());
    let api = await connect(first);
    const vm = await runningVm(api);
    api.close();

    // The whole host goes down: toolstack and hypervisor.
    await first.kill9();
    const oldPid = await first.hypervisorPid();
    await first.killHypervisor();
    const second = await first.restart();
    cleanup.push(() => second.stop());
    assert.notEqual(await second.hypervisorPid(), oldPid, 'a new hypervisor (a new boot)');
    api = await connect(second);
    await until(async () => (await api.call('VM.get_power_state', vm)) === 'Halted');
    assert.equal(await api.call('VM.get_resident_on', vm), 'OpaqueRef:NULL');

    // The hypervisor dies under a running toolstack: the VM halts, a new hypervisor comes up.
    await api.call('VM.start', vm, false, false);
    const pid = await second.hypervisorPid();
    await second.killHypervisor();
    await until(async () => (await api.call('VM.get_power_state', vm)) === 'Halted');
    await until(async () => (await second.hypervisorPid()) !== pid);
    await until(async () => { await api.call('VM.start', vm, false, false); return true; });
    assert.equal(await api.call('VM.get_power_state', vm), 'Running');
    api.close();
  });

  it('with --spawn-hypervisor false it waits for a hypervisor someone else starts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'islet-nospawn-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const stateDir = join(dir, 'hv');
    const islet = await startIslet({ rootPassword: PW, dataDir: join(dir, 'data'), args: ['--hypervisor-state', stateDir, '--spawn-hypervisor', 'false'] });
    cleanup.push(() => islet.stop());
    const api = await connect(islet);
    const m = 128 * MiB;
    const vm = String(await api.call('VM.create', completeRecord('VM', { name_label: 'w', memory_static_max: m, memory_dynamic_max: m, VCPUs_at_startup: 1 })));
    await assert.rejects(api.call('VM.start', vm, false, false), (e: any) => e.code === 'NO_HOSTS_AVAILABLE' || e.code === 'HOST_OFFLINE');
    const sim = await startHypervisorSim({ stateDir, memory: 1024 * MiB });
    cleanup.push(() => sim.stop());
    await until(async () => { await api.call('VM.start', vm, false, false); return true; });
    const total = await api.call('host_metrics.get_memory_total', await api.call('host.get_metrics', String((await api.call('host.get_all') as string[])[0])));
    assert.equal(Number(total), 1024 * MiB);
    api.close();
  });
});
