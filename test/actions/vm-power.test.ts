/**
 * VM power actions on one real host: a compiled `islet server` that starts its own
 * hypervisor simulator, driven over JSON-RPC, with the simulator watched (and its guests
 * steered) through a second connection to it. Needs `npm run build` (bin/islet runs dist/).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { SimHypervisorClient } from '../../src/hypervisor/sim-hypervisor-client.js';
import { type IsletProcess, startIslet } from '../helpers/islet-server.js';
import { completeRecord } from '../../src/client/create-record.js';

const MiB = 1024 * 1024;
const PW = 'vm-power-pw';

describe('VM power actions on a single host with a real hypervisor simulator', () => {
  let islet: IsletProcess;
  let api: XapiClient;
  let hv: SimHypervisorClient;
  let host: string;

  before(async () => {
    islet = await startIslet({ rootPassword: PW, env: { ISLET_HYPERVISOR_MEMORY: '2G' } });
    api = new XapiClient({ url: islet.url });
    await api.login('root', PW);
    hv = await SimHypervisorClient.connect({ stateDir: join(islet.dataDir, 'hypervisor') });
    host = String(((await api.call('host.get_all')) as string[])[0]);
  });
  after(async () => {
    await hv?.close();
    await api?.logout().catch(() => undefined);
    api?.close();
    await islet?.stop();
  });

  const call = (m: string, ...a: unknown[]) => api.call(m, ...a) as Promise<any>;
  const rec = (vm: string) => call('VM.get_record', vm);
  const domain = async (vm: string) => {
    const uuid = (await rec(vm)).uuid;
    return (await hv.list()).find((d) => d.vmUuid === uuid);
  };
  const makeVm = async (memory = 256 * MiB, extra: Record<string, unknown> = {}) => String(await call('VM.create', completeRecord('VM', {
    name_label: 'power', memory_static_max: memory, memory_dynamic_max: memory, memory_dynamic_min: memory,
    memory_static_min: memory, VCPUs_max: 1, VCPUs_at_startup: 1, ...extra,
  })));
  const failsWith = (p: Promise<unknown>, code: string, params?: unknown[]) => assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, String(e));
    if (params) assert.deepEqual(e.params, params);
    return true;
  });
  const until = async (what: () => Promise<boolean>, ms = 10_000) => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (await what()) return;
    assert.fail('condition not reached in time');
  };

  it('takes a VM through start, pause, reboot, suspend, resume and shutdown', async () => {
    const vm = await makeVm();
    // A VM made by VM.create gets its allowed operations without anyone asking.
    await until(async () => (await rec(vm)).allowed_operations.includes('start'));
    await call('VM.update_allowed_operations', vm);
    assert.ok((await rec(vm)).allowed_operations.includes('destroy'));
    await call('VM.start', vm, false, false);
    let r = await rec(vm);
    assert.equal(r.power_state, 'Running');
    assert.equal(r.resident_on, host);
    const d1 = (await domain(vm))!;
    assert.equal(r.domid, d1.domid);
    assert.ok(r.allowed_operations.includes('clean_shutdown') && !r.allowed_operations.includes('start'));
    const m = await call('VM_metrics.get_record', r.metrics);
    assert.equal(Number(m.memory_actual), 256 * MiB);
    assert.equal(Number(m.VCPUs_number), 1);
    assert.equal(Number(await call('VM.get_memory_overhead', vm)), 8 * MiB);

    await failsWith(call('VM.start', vm, false, false), 'VM_BAD_POWER_STATE', [vm, 'halted', 'running']);
    await call('VM.pause', vm);
    assert.equal((await rec(vm)).power_state, 'Paused');
    assert.equal((await domain(vm))!.state, 'paused');
    await failsWith(call('VM.suspend', vm), 'VM_BAD_POWER_STATE', [vm, 'running', 'paused']);
    await call('VM.unpause', vm);
    assert.equal((await domain(vm))!.guestBootId, d1.guestBootId);

    await call('VM.clean_reboot', vm);
    const d2 = (await domain(vm))!;
    assert.notEqual(d2.guestBootId, d1.guestBootId);
    assert.equal((await rec(vm)).domid, d2.domid);
    await call('VM.hard_reboot', vm);
    const d3 = (await domain(vm))!;
    assert.notEqual(d3.guestBootId, d2.guestBootId);

    await api.callAsync('VM.suspend', vm);
    r = await rec(vm);
    assert.equal(r.power_state, 'Suspended');
    assert.equal(r.resident_on, 'OpaqueRef:NULL');
    assert.equal(await domain(vm), undefined);
    await api.callAsync('VM.resume', vm, false, false);
    assert.equal((await rec(vm)).power_state, 'Running');
    assert.equal((await domain(vm))!.guestBootId, d3.guestBootId, 'resume continues the same boot');

    await call('VM.clean_shutdown', vm);
    r = await rec(vm);
    assert.equal(r.power_state, 'Halted');
    assert.equal(r.resident_on, 'OpaqueRef:NULL');
    assert.equal(Number(r.domid), -1);
    assert.equal(await domain(vm), undefined);
    await failsWith(call('VM.hard_shutdown', vm), 'VM_BAD_POWER_STATE', [vm, 'paused, suspended, running', 'halted']);
    await call('VM.start', vm, true, false);
    assert.equal((await rec(vm)).power_state, 'Paused');
    await call('VM.hard_shutdown', vm);
  });

  it('refuses a VM the host has no memory for, and templates', async () => {
    const big = await makeVm(3000 * MiB);
    const free = Number(await call('host.compute_free_memory', host));
    await failsWith(call('VM.start', big, false, false), 'HOST_NOT_ENOUGH_FREE_MEMORY', [String(3000 * MiB + 8 * MiB), String(free)]);
    assert.equal((await rec(big)).power_state, 'Halted');
    await failsWith(call('VM.assert_can_boot_here', big, host), 'HOST_NOT_ENOUGH_FREE_MEMORY');
    assert.deepEqual(await call('VM.get_possible_hosts', big), []);
    const tpl = await makeVm(256 * MiB, { is_a_template: true });
    await failsWith(call('VM.start', tpl, false, false), 'VM_IS_TEMPLATE', [tpl]);
    const metrics = await call('host_metrics.get_record', (await call('host.get_record', host)).metrics);
    assert.equal(Number(metrics.memory_total), 2 * 1024 * MiB);
  });

  it('locks a VM while an operation runs; a hard shutdown still cuts through a clean one', async () => {
    const vm = await makeVm();
    await call('VM.start', vm, false, false);
    await hv.configureGuest((await rec(vm)).uuid, { shutdownMs: 3000 });
    const task = String(await call('Async.VM.clean_shutdown', vm));
    await until(async () => Object.keys((await rec(vm)).current_operations).length > 0);
    const r = await rec(vm);
    assert.deepEqual(r.current_operations, { [task]: 'clean_shutdown' });
    assert.ok(!r.allowed_operations.includes('pause'));
    await failsWith(call('VM.pause', vm), 'OTHER_OPERATION_IN_PROGRESS', ['VM', vm, 'clean_shutdown', task]);
    await call('VM.hard_shutdown', vm);
    await assert.rejects(api.waitTask(task), (e: any) => e.code === 'TASK_CANCELLED');
    const done = await rec(vm);
    assert.equal(done.power_state, 'Halted');
    assert.deepEqual(done.current_operations, {});
    assert.ok(done.allowed_operations.includes('start'));
  });

  it('a guest without PV drivers cannot be shut down cleanly; VM.shutdown then forces it', async () => {
    const vm = await makeVm();
    await call('VM.start', vm, false, false);
    await hv.configureGuest((await rec(vm)).uuid, { pvDrivers: false });
    await failsWith(call('VM.clean_shutdown', vm), 'VM_MISSING_PV_DRIVERS', [vm]);
    await failsWith(call('VM.suspend', vm), 'VM_MISSING_PV_DRIVERS', [vm]);
    assert.equal((await rec(vm)).power_state, 'Running');
    await call('VM.shutdown', vm);
    assert.equal((await rec(vm)).power_state, 'Halted');
  });

  it('applies actions_after_shutdown, _reboot and _crash when the guest stops itself', async () => {
    const halts = await makeVm(256 * MiB, { actions_after_shutdown: 'destroy' });
    const reboots = await makeVm(256 * MiB, { actions_after_reboot: 'restart' });
    const crashes = await makeVm(256 * MiB, { actions_after_crash: 'preserve' });
    for (const vm of [halts, reboots, crashes]) await call('VM.start', vm, false, false);
    const bootBefore = (await domain(reboots))!.guestBootId;
    await hv.guestShutdown((await rec(halts)).uuid, 'poweroff');
    await hv.guestShutdown((await rec(reboots)).uuid, 'reboot');
    await hv.guestShutdown((await rec(crashes)).uuid, 'crash');
    await until(async () => (await rec(halts)).power_state === 'Halted');
    assert.equal(await domain(halts), undefined);
    await until(async () => (await domain(reboots))?.guestBootId !== bootBefore);
    assert.equal((await domain(reboots))!.state, 'running');
    await until(async () => (await rec(reboots)).domid === (await domain(reboots))!.domid);
    assert.equal((await rec(reboots)).power_state, 'Running');
    await until(async () => (await rec(crashes)).power_state === 'Paused');
    assert.equal((await domain(crashes))!.state, 'shutdown');
    for (const vm of [reboots, crashes]) await call('VM.hard_shutdown', vm);
    assert.deepEqual(await hv.list(), []);
  });
});
