/**
 * The VM calls XenServer 6.0.2 clients send that Islet once lacked: the setters that were
 * plain fields then (HVM boot policy, ha_always_run, an appliance member's order and
 * delays, its appliance), the older live memory and CPU calls, copy_bios_strings, and the
 * disaster-recovery pair, on one real host with its hypervisor simulator, over JSON-RPC.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { completeRecord } from '../../src/client/create-record.js';
import { type IsletProcess, startIslet } from '../helpers/islet-server.js';

const MiB = 1024 * 1024;
const PW = 'vm-602-pw';

describe('VM calls of XenServer 6.0.2 clients', () => {
  let islet: IsletProcess;
  let api: XapiClient;
  let host: string;

  before(async () => {
    islet = await startIslet({ rootPassword: PW, env: { ISLET_HYPERVISOR_MEMORY: '2G' } });
    api = new XapiClient({ url: islet.url });
    await api.login('root', PW);
    host = String(((await api.call('host.get_all')) as string[])[0]);
  });
  after(async () => {
    await api?.logout().catch(() => undefined);
    api?.close();
    await islet?.stop();
  });

  const call = (m: string, ...a: unknown[]) => api.call(m, ...a) as Promise<any>;
  const rec = (vm: string) => call('VM.get_record', vm);
  const makeVm = async (extra: Record<string, unknown> = {}) => String(await call('VM.create', completeRecord('VM', {
    name_label: 'six-oh', memory_static_max: 256 * MiB, memory_dynamic_max: 256 * MiB, memory_dynamic_min: 256 * MiB,
    memory_static_min: 256 * MiB, VCPUs_max: 1, VCPUs_at_startup: 1, ...extra,
  })));
  const failsWith = (p: Promise<unknown>, code: string, params?: unknown[]) => assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, String(e));
    if (params) assert.deepEqual(e.params, params);
    return true;
  });

  it('sets the HVM boot policy as a plain field, keeping domain_type in step, in any power state', async () => {
    const vm = await makeVm();
    await call('VM.set_HVM_boot_policy', vm, 'BIOS order');
    let r = await rec(vm);
    assert.equal(r.HVM_boot_policy, 'BIOS order');
    assert.equal(r.domain_type, 'hvm');
    await call('VM.start', vm, false, false);
    await call('VM.set_HVM_boot_policy', vm, '');
    r = await rec(vm);
    assert.equal(r.HVM_boot_policy, '');
    assert.equal(r.domain_type, 'pv');
    await call('VM.hard_shutdown', vm);
  });

  it('sets ha_always_run as a plain field (HA is off), and the start-order fields as given', async () => {
    const vm = await makeVm();
    await call('VM.set_ha_always_run', vm, true);
    assert.equal(await call('VM.get_ha_always_run', vm), true);
    await call('VM.set_ha_always_run', vm, false);
    assert.equal(await call('VM.get_ha_always_run', vm), false);
    await call('VM.set_order', vm, 3);
    await call('VM.set_start_delay', vm, 7);
    await call('VM.set_shutdown_delay', vm, 9);
    const r = await rec(vm);
    assert.deepEqual([Number(r.order), Number(r.start_delay), Number(r.shutdown_delay)], [3, 7, 9]);
    await failsWith(call('VM.set_order', 'OpaqueRef:nonesuch', 1), 'HANDLE_INVALID', ['VM', 'OpaqueRef:nonesuch']);
  });

  it('puts a VM in an appliance and takes it out, refusing templates and appliances that do not exist', async () => {
    const vm = await makeVm();
    const app = String(await call('VM_appliance.create', { name_label: 'web tier', name_description: '' }));
    await call('VM.set_appliance', vm, app);
    assert.equal((await rec(vm)).appliance, app);
    assert.deepEqual(await call('VM_appliance.get_VMs', app), [vm]);
    assert.deepEqual(await call('VM_appliance.get_allowed_operations', app), ['start']);
    await call('VM.set_appliance', vm, 'OpaqueRef:NULL');
    assert.deepEqual(await call('VM_appliance.get_VMs', app), []);
    assert.deepEqual(await call('VM_appliance.get_allowed_operations', app), []);
    await failsWith(call('VM.set_appliance', vm, 'OpaqueRef:gone'), 'HANDLE_INVALID', ['VM_appliance', 'OpaqueRef:gone']);
    const template = await makeVm({ is_a_template: true });
    await failsWith(call('VM.set_appliance', template, app), 'OPERATION_NOT_ALLOWED');
  });

  it('copies a host\'s BIOS strings once, making that host the VM\'s affinity', async () => {
    const vm = await makeVm();
    await call('VM.copy_bios_strings', vm, host);
    const r = await rec(vm);
    assert.equal(r.affinity, host);
    assert.deepEqual(r.bios_strings, await call('host.get_bios_strings', host));
    const other = await makeVm();
    await call('VM.set_bios_strings', other, { 'system-manufacturer': 'Acme' });
    await failsWith(call('VM.copy_bios_strings', other, host), 'VM_BIOS_STRINGS_ALREADY_SET', []);
    await failsWith(call('VM.copy_bios_strings', other, 'OpaqueRef:nohost'), 'HANDLE_INVALID', ['host', 'OpaqueRef:nohost']);
  });

  it('answers the live memory calls on a running VM and refuses them on a halted one', async () => {
    const vm = await makeVm();
    await failsWith(call('VM.set_memory_target_live', vm, 128 * MiB), 'VM_BAD_POWER_STATE', [vm, 'running', 'halted']);
    await failsWith(call('VM.wait_memory_target_live', vm), 'VM_BAD_POWER_STATE', [vm, 'running', 'halted']);
    await failsWith(call('VM.add_to_VCPUs_params_live', vm, 'weight', '512'), 'VM_BAD_POWER_STATE', [vm, 'running', 'halted']);
    await failsWith(call('VM.set_shadow_multiplier_live', vm, 2), 'VM_BAD_POWER_STATE', [vm, 'running', 'halted']);
    assert.equal(await call('VM.get_cooperative', vm), true);

    await call('VM.start', vm, false, false);
    await call('VM.set_memory_target_live', vm, 128 * MiB);
    // The balloon target is the top of the dynamic range, which the guest was built with.
    await call('VM.wait_memory_target_live', vm);
    assert.equal(await call('VM.get_cooperative', vm), true);
    await failsWith(call('VM.add_to_VCPUs_params_live', vm, 'weight', '512'), 'NOT_IMPLEMENTED', ['add_to_VCPUs_params_live']);
    assert.deepEqual((await rec(vm)).current_operations, {});
    await failsWith(call('VM.set_shadow_multiplier_live', vm, 2), 'VM_HVM_REQUIRED', [vm]);
    await call('VM.hard_shutdown', vm);
  });

  it('changes a running HVM guest\'s shadow multiplier, refusing one below 1', async () => {
    const vm = await makeVm({ HVM_boot_policy: 'BIOS order', domain_type: 'hvm' });
    await call('VM.start', vm, false, false);
    await failsWith(call('VM.set_shadow_multiplier_live', vm, 0.5), 'INVALID_VALUE', ['multiplier', '0.5']);
    await call('VM.set_shadow_multiplier_live', vm, 2.5);
    assert.equal(Number((await rec(vm)).HVM_shadow_multiplier), 2.5);
    await call('VM.hard_shutdown', vm);
  });

  it('checks recovery as xapi does: the session, the SRs the disks need, and the import\'s verdict', async () => {
    const [pool] = await call('pool.get_all');
    const sr = String(await call('pool.get_default_SR', pool));
    const vm = await makeVm();
    const vdi = await call('VDI.create', {
      name_label: 'disk', SR: sr, virtual_size: 4 * MiB, type: 'user', sharable: false, read_only: false, other_config: {}, sm_config: {},
    });
    await call('VBD.create', completeRecord('VBD', { VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', empty: false, other_config: {} }));
    const me = api.sessionId!;
    await call('VM.assert_can_be_recovered', vm, me);
    await failsWith(call('VM.assert_can_be_recovered', vm, 'OpaqueRef:nosession'), 'SESSION_INVALID', ['OpaqueRef:nosession']);
    await failsWith(call('VM.recover', vm, me, false), 'VM_TO_IMPORT_IS_NOT_NEWER_VERSION', [vm, '0', '0']);
    await call('VM.recover', vm, me, true);

    const [pbd] = await call('SR.get_PBDs', sr);
    await call('PBD.unplug', pbd);
    try {
      await failsWith(call('VM.assert_can_be_recovered', vm, me), 'VM_REQUIRES_SR', [vm, sr]);
    } finally {
      await call('PBD.plug', pbd);
    }

    await call('VM.start', vm, false, false);
    await failsWith(call('VM.recover', vm, me, false), 'VM_BAD_POWER_STATE', [vm, 'Halted', 'Running']);
    await call('VM.recover', vm, me, true);
    await call('VM.hard_shutdown', vm);

    const app = String(await call('VM_appliance.create', { name_label: 'dr', name_description: '' }));
    await call('VM.set_appliance', vm, app);
    await failsWith(call('VM.recover', vm, me, false), 'VM_IS_PART_OF_AN_APPLIANCE', [vm, app]);
  });
});
