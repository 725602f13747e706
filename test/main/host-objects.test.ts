/**
 * The objects a new administrator meets first on a host, through a real server and `xe`:
 * the control domain (listed, resident, refused for lifecycle operations as xapi refuses
 * them), the machine's facts (CPUs and memory, with `nproc` and /proc as oracles), its
 * iSCSI initiator name and local SR, and the networks: the pool-wide and host-internal networks, the management PIF, VIFs with MACs.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { repoRoot } from '../helpers/repo-root.js';
import { XapiClient } from '../../src/client/xapi-client.js';
import { isXapiError } from '../../src/client/xapi-call-error.js';
import { waitFor } from '../helpers/islet-pool.js';

const run = promisify(execFile);

describe('host objects', { timeout: 120_000 }, () => {
  let islet: IsletProcess;
  let c: XapiClient;
  const xe = async (...args: string[]) => (await run(process.execPath, [
    join(repoRoot(), 'bin', 'xe'), '-s', '127.0.0.1', '-p', String(islet.port), '-u', 'root', '-pw', islet.rootPassword, ...args,
  ], { timeout: 60_000 })).stdout;

  before(async () => {
    islet = await startIslet();
    c = new XapiClient({ url: islet.url });
    await c.login('root', islet.rootPassword);
  });
  after(async () => {
    c?.close();
    await islet?.stop();
  });

  it('has one control domain, running on its host as domain 0', async () => {
    const uuids = (await xe('vm-list', 'is-control-domain=true', '--minimal')).trim().split(',').filter(Boolean);
    assert.equal(uuids.length, 1);
    const host = ((await c.call('host.get_all')) as string[])[0]!;
    const dom0 = String(await c.call('host.get_control_domain', host));
    const rec = (await c.call('VM.get_record', dom0)) as Record<string, unknown>;
    assert.equal(rec.uuid, uuids[0]);
    assert.equal(rec.is_control_domain, true);
    assert.equal(rec.power_state, 'Running');
    assert.equal(rec.domid, 0);
    assert.equal(rec.resident_on, host);
    assert.match(String(rec.name_label), /^Control domain on host: /);
    assert.equal(rec.memory_static_max, 752 * 1024 * 1024);
    assert.deepEqual(await c.call('host.get_resident_VMs', host), [dom0]);
    const listed = await xe('vm-list', `uuid=${uuids[0]}`, 'params=power-state,dom-id');
    assert.match(listed, /power-state \( RO\)\s*: running/);
    assert.match(listed, /dom-id \( RO\)\s*: 0/);
    assert.match(await xe('host-param-get', `uuid=${String(await c.call('host.get_uuid', host))}`, 'param-name=control-domain-uuid'), new RegExp(uuids[0]!));
  });

  it('refuses lifecycle operations on the control domain with xapi\'s errors', async () => {
    const host = ((await c.call('host.get_all')) as string[])[0]!;
    const dom0 = String(await c.call('host.get_control_domain', host));
    const refused = async (method: string, code: string, ...args: unknown[]) => assert.rejects(c.call(method, dom0, ...args), (e: unknown) => {
      assert.ok(isXapiError(e, code), `${method}: ${String(e)}`);
      return true;
    });
    await refused('VM.start', 'VM_BAD_POWER_STATE', false, false);
    await refused('VM.hard_shutdown', 'OPERATION_NOT_ALLOWED');
    await refused('VM.clean_reboot', 'OPERATION_NOT_ALLOWED');
    await refused('VM.destroy', 'OPERATION_NOT_ALLOWED');
    await refused('VM.snapshot', 'OPERATION_NOT_ALLOWED', 'snap');
    const ops = (await c.call('VM.get_allowed_operations', dom0)) as string[];
    for (const op of ['hard_shutdown', 'clean_reboot', 'snapshot', 'destroy', 'pool_migrate']) assert.ok(!ops.includes(op), op);
    assert.equal(await c.call('VM.get_power_state', dom0), 'Running', 'still running after the refusals');
  });

  it('reports the machine\'s CPUs and memory', async () => {
    const nproc = Number(execFileSync('nproc', ['--all']).toString().trim());
    const host = ((await c.call('host.get_all')) as string[])[0]!;
    const info = (await c.call('host.get_cpu_info', host)) as Record<string, string>;
    assert.equal(info.cpu_count, String(nproc));
    assert.ok(Number(info.socket_count) >= 1);
    const cpus = (await c.call('host.get_host_CPUs', host)) as string[];
    assert.equal(cpus.length, nproc);
    const numbers = await Promise.all(cpus.map((r) => c.call('host_cpu.get_number', r)));
    assert.deepEqual([...numbers].sort(), [...Array(nproc).keys()]);
    assert.equal((await xe('host-cpu-list', '--minimal')).trim().split(',').length, nproc);
    assert.match(await xe('host-cpu-info'), new RegExp(`cpu_count\\s*: ${nproc}\\b`));
    const metrics = String(await c.call('host.get_metrics', host));
    const free = await waitFor(async () => Number(await c.call('host_metrics.get_memory_free', metrics)) || undefined, 20_000, 'memory_free');
    const total = Number(await c.call('host_metrics.get_memory_total', metrics));
    assert.equal(total, totalmem(), 'memory_total is the machine\'s memory (MemTotal), as Xen reports it');
    assert.ok(free > 0 && free <= total, `free ${free} within total ${total}`);
    assert.match(await xe('host-list', 'params=memory-free'), /memory-free \( RO\)\s*: [1-9]\d*/);
  });

  it('has an iSCSI initiator name and the local SR for suspend images and crash dumps, as an installed host has', async () => {
    const host = ((await c.call('host.get_all')) as string[])[0]!;
    const uuid = String(await c.call('host.get_uuid', host));
    const oc = (await c.call('host.get_other_config', host)) as Record<string, string>;
    assert.equal(oc.iscsi_iqn, `iqn.2026-12.org.islet:${uuid}`);
    assert.equal((await xe('host-param-get', `uuid=${uuid}`, 'param-name=other-config', 'param-key=iscsi_iqn')).trim(), oc.iscsi_iqn);
    const pool = ((await c.call('pool.get_all')) as string[])[0]!;
    const local = String(await c.call('pool.get_default_SR', pool));
    assert.equal(await c.call('SR.get_name_label', local), 'Local storage');
    assert.equal(await c.call('host.get_suspend_image_sr', host), local);
    assert.equal(await c.call('host.get_crash_dump_sr', host), local);
  });

  it('has the pool-wide and host-internal networks and a management PIF at the host\'s address', async () => {
    const nets = Object.values((await c.call('network.get_all_records')) as Record<string, Record<string, unknown>>);
    const byBridge = new Map(nets.map((n) => [n.bridge, n]));
    assert.equal(byBridge.get('xenbr0')?.name_label, 'Pool-wide network associated with eth0');
    assert.equal((byBridge.get('xenapi')?.other_config as Record<string, string>).is_host_internal_management_network, 'true');
    const host = ((await c.call('host.get_all')) as string[])[0]!;
    const pifs = Object.entries((await c.call('PIF.get_all_records')) as Record<string, Record<string, unknown>>);
    assert.equal(pifs.length, 1);
    const [, pif] = pifs[0]!;
    assert.equal(pif.host, host);
    assert.equal(pif.device, 'eth0');
    assert.equal(pif.management, true);
    assert.equal(pif.IP, '127.0.0.1');
    assert.match(String(pif.MAC), /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.match(await xe('pif-list', 'params=device,IP,management'), /device \( RO\)\s*: eth0[\s\S]*IP \( RO\)\s*: 127\.0\.0\.1/);
  });

  it('gives VIFs locally administered MACs from the VM\'s seed and checks device and MAC', async () => {
    const vm = String(await c.call('VM.create', {
      name_label: 'nic test', name_description: '', user_version: 1, is_a_template: false, affinity: 'OpaqueRef:NULL',
      memory_target: 268435456, memory_static_max: 268435456, memory_dynamic_max: 268435456, memory_dynamic_min: 268435456,
      memory_static_min: 134217728, VCPUs_params: {}, VCPUs_max: 1, VCPUs_at_startup: 1, actions_after_shutdown: 'destroy',
      actions_after_reboot: 'restart', actions_after_crash: 'restart', PV_bootloader: '', PV_kernel: '', PV_ramdisk: '', PV_args: '',
      PV_bootloader_args: '', PV_legacy_args: '', HVM_boot_policy: 'BIOS order', HVM_boot_params: { order: 'dc' }, platform: {},
      PCI_bus: '', other_config: {}, recommendations: '',
    }));
    const net = Object.entries((await c.call('network.get_all_records')) as Record<string, Record<string, unknown>>).find(([, n]) => n.bridge === 'xenbr0')![0];
    const mk = (device: string, MAC = '') => c.call('VIF.create', { device, network: net, VM: vm, MAC, MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} });
    const v0 = String(await mk('0'));
    const v1 = String(await mk('1'));
    const m0 = String(await c.call('VIF.get_MAC', v0));
    const m1 = String(await c.call('VIF.get_MAC', v1));
    assert.notEqual(m0, m1);
    for (const m of [m0, m1]) assert.equal(Number.parseInt(m.slice(0, 2), 16) & 0x03, 0x02, `${m} is locally administered unicast`);
    assert.equal(await c.call('VIF.get_MAC_autogenerated', v0), true);
    assert.ok((await c.call('VM.get_other_config', vm) as Record<string, string>).mac_seed);
    const refused = (p: Promise<unknown>, code: string) => assert.rejects(p, (e: unknown) => { assert.ok(isXapiError(e, code), String(e)); return true; });
    await refused(mk('0'), 'DEVICE_ALREADY_EXISTS');
    await refused(mk('eth9'), 'INVALID_DEVICE');
    await refused(mk('2', 'not-a-mac'), 'MAC_INVALID');
    const given = String(await mk('3', 'AA:BB:CC:00:11:22'));
    assert.equal(await c.call('VIF.get_MAC', given), 'aa:bb:cc:00:11:22');
    assert.equal(await c.call('VIF.get_MAC_autogenerated', given), false);
    assert.equal(((await c.call('VM.get_VIFs', vm)) as string[]).length, 3);
  });
});
