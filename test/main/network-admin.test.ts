/**
 * The network work of a new administrator, on a real `islet server` with three network
 * cards (`ISLET_NICS`), through `xe` and XenAPI, with the host's hypervisor simulator as
 * the oracle for what a VM's domain really has plugged: VIFs plugged at start, hot-plugged
 * and unplugged with xapi's errors, gone at shutdown; PIF IP configuration and the
 * management interface (host.address follows only to an address the host serves at);
 * VLANs (per host and pool-wide) and bonds with the PIFs XenServer makes; networks made
 * and destroyed; and the README's NBD line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { XapiClient } from '../../src/client/xapi-client.js';
import { SimHypervisorClient } from '../../src/hypervisor/sim-hypervisor-client.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { repoRoot } from '../helpers/repo-root.js';
import { completeRecord } from '../../src/client/create-record.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
type Rec = Record<string, any>;

describe('network administration', { timeout: 180_000 }, () => {
  let islet: IsletProcess;
  let c: XapiClient;
  let hv: SimHypervisorClient;
  let host: string;

  const xeRun = (...args: string[]) => run(process.execPath, [
    join(repoRoot(), 'bin', 'xe'), '-s', '127.0.0.1', '-p', String(islet.port), '-u', 'root', '-pw', islet.rootPassword, ...args,
  ], { timeout: 60_000 });
  const xe = async (...args: string[]) => (await xeRun(...args)).stdout.trim();
  /** xe must fail, printing the error's description and parameters as XenServer's xe does. */
  const xeFails = async (pattern: RegExp, ...args: string[]) => {
    const out = await xeRun(...args).then((r) => ({ code: 0, text: r.stdout + r.stderr }), (e: any) => ({ code: e.code, text: String(e.stdout) + String(e.stderr) }));
    assert.notEqual(out.code, 0, `xe ${args.join(' ')} should fail`);
    assert.match(out.text, pattern);
  };
  const call = (m: string, ...a: unknown[]) => c.call(m, ...a) as Promise<any>;
  const failsWith = (p: Promise<unknown>, code: string, params?: unknown[]) => assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, String(e));
    if (params) assert.deepEqual(e.params, params);
    return true;
  });
  const pifByDevice = async (device: string): Promise<[string, Rec]> => {
    const all = Object.entries((await call('PIF.get_all_records')) as Record<string, Rec>);
    const found = all.find(([, r]) => r.device === device && r.VLAN === -1 && r.physical === true);
    assert.ok(found, `PIF ${device}`);
    return found;
  };
  const domainNics = async (vm: string) => {
    const uuid = await call('VM.get_uuid', vm);
    return (await hv.list()).find((d) => d.vmUuid === uuid)?.nics;
  };

  before(async () => {
    islet = await startIslet({ env: { ISLET_NICS: 'eth0,eth1,eth2', ISLET_HYPERVISOR_MEMORY: '2G' } });
    c = new XapiClient({ url: islet.url });
    await c.login('root', islet.rootPassword);
    hv = await SimHypervisorClient.connect({ stateDir: join(islet.dataDir, 'hypervisor') });
    host = ((await call('host.get_all')) as string[])[0]!;
  });
  after(async () => {
    await hv?.close();
    c?.close();
    await islet?.stop();
  });

  it('gives the host a PIF per configured card, each on the pool-wide network of its bridge', async () => {
    const pifs = Object.values((await call('PIF.get_all_records')) as Record<string, Rec>);
    assert.deepEqual(pifs.map((p) => p.device).sort(), ['eth0', 'eth1', 'eth2']);
    for (const p of pifs) {
      const net = await call('network.get_record', p.network);
      assert.equal(net.bridge, `xenbr${p.device.slice(3)}`);
      assert.equal(net.name_label, `Pool-wide network associated with ${p.device}`);
      assert.equal(p.management, p.device === 'eth0');
      assert.equal(p.ip_configuration_mode, p.device === 'eth0' ? 'Static' : 'None');
    }
    // A scan finds nothing new: every configured card has its PIF.
    await xe('pif-scan', `host-uuid=${await call('host.get_uuid', host)}`);
    assert.equal(((await call('PIF.get_all')) as string[]).length, 3);
  });

  it('pif-forget removes a card\'s PIF (never the management one); pif-introduce and pif-scan make it again', async () => {
    const hostUuid = String(await call('host.get_uuid', host));
    const [eth2, before] = await pifByDevice('eth2');
    const [eth0] = await pifByDevice('eth0');
    await xeFails(/The operation you requested cannot be performed because the specified PIF is the management interface\./, 'pif-forget', `uuid=${await call('PIF.get_uuid', eth0)}`);
    await xe('pif-forget', `uuid=${before.uuid}`);
    await failsWith(call('PIF.get_record', eth2), 'HANDLE_INVALID');
    // The card is still there: introduced by name (its own MAC) or found by a scan.
    await xeFails(/Could not find a network interface with the specified device name and MAC address\.\ndevice: eth2\nmac: 02:00:00:00:00:01/,
      'pif-introduce', `host-uuid=${hostUuid}`, 'device=eth2', 'mac=02:00:00:00:00:01');
    await xeFails(/The MAC address specified is not valid\./, 'pif-introduce', `host-uuid=${hostUuid}`, 'device=eth2', 'mac=not-a-mac');
    await xeFails(/Could not find a network interface/, 'pif-introduce', `host-uuid=${hostUuid}`, 'device=eth9', `mac=${before.MAC}`);
    const uuid = await xe('pif-introduce', `host-uuid=${hostUuid}`, 'device=eth2');
    const [, again] = await pifByDevice('eth2');
    assert.equal(again.uuid, uuid);
    assert.equal(again.MAC, before.MAC, 'the card\'s own address');
    assert.equal(again.network, before.network, 'back on its bridge\'s network');
    await xeFails(/A PIF with this specified device name already exists\.\ndevice: eth2/, 'pif-introduce', `host-uuid=${hostUuid}`, 'device=eth2');
    await xe('pif-forget', `uuid=${uuid}`);
    await xe('pif-scan', `host-uuid=${hostUuid}`);
    assert.equal((await pifByDevice('eth2'))[1].MAC, before.MAC);
  });

  it('plugs VIFs at start, hot-plugs and unplugs them by xapi\'s rules, and unplugs them all at shutdown', async () => {
    const vm = String(await call('VM.create', completeRecord('VM', {
      name_label: 'nics', memory_static_max: 256 * MiB, memory_dynamic_max: 256 * MiB, memory_dynamic_min: 256 * MiB,
      memory_static_min: 256 * MiB, VCPUs_max: 1, VCPUs_at_startup: 1,
    })));
    const vmUuid = String(await call('VM.get_uuid', vm));
    const [, eth0] = await pifByDevice('eth0');
    const [, eth1] = await pifByDevice('eth1');
    const net0 = await call('network.get_uuid', eth0.network);
    const v0uuid = await xe('vif-create', `vm-uuid=${vmUuid}`, `network-uuid=${net0}`, 'device=0');
    const v0 = String(await call('VIF.get_by_uuid', v0uuid));
    await xeFails(/not in an appropriate power state[\s\S]*expected: running[\s\S]*actual: halted/, 'vif-plug', `uuid=${v0uuid}`);
    const allowed = (await call('VM.get_allowed_VIF_devices', vm)) as string[];
    assert.ok(!allowed.includes('0') && allowed.includes('1'), `allowed devices ${allowed.join(',')}`);

    await call('VM.start', vm, false, false);
    assert.equal(await call('VIF.get_currently_attached', v0), true);
    const mac0 = await call('VIF.get_MAC', v0);
    assert.deepEqual(await domainNics(vm), [{ device: '0', mac: mac0, bridge: 'xenbr0', mtu: 1500 }]);

    // A VIF made on a running VM waits to be plugged, as on XenServer.
    const v1uuid = await xe('vif-create', `vm-uuid=${vmUuid}`, `network-uuid=${await call('network.get_uuid', eth1.network)}`, 'device=1');
    const v1 = String(await call('VIF.get_by_uuid', v1uuid));
    assert.equal(await call('VIF.get_currently_attached', v1), false);
    await xe('vif-plug', `uuid=${v1uuid}`);
    assert.equal(await call('VIF.get_currently_attached', v1), true);
    assert.deepEqual((await domainNics(vm))?.map((n) => [n.device, n.bridge]), [['0', 'xenbr0'], ['1', 'xenbr1']]);
    await failsWith(call('VIF.plug', v1), 'DEVICE_ALREADY_ATTACHED', [v1]);
    await xeFails(/The device is already attached to a VM/, 'vif-plug', `uuid=${v1uuid}`);
    // An attached interface is not destroyed under the guest, nor its network.
    await failsWith(call('VIF.destroy', v1), 'OPERATION_NOT_ALLOWED');
    await failsWith(call('PIF.unplug', (await pifByDevice('eth1'))[0]), 'VIF_IN_USE');

    await xe('vif-unplug', `uuid=${v1uuid}`);
    assert.equal(await call('VIF.get_currently_attached', v1), false);
    assert.deepEqual((await domainNics(vm))?.map((n) => n.device), ['0']);
    await failsWith(call('VIF.unplug', v1), 'DEVICE_ALREADY_DETACHED', [v1]);
    await xeFails(/The device is not currently attached/, 'vif-unplug', `uuid=${v1uuid}`);

    // A guest without PV drivers cannot release a card; a forced unplug needs no guest.
    await hv.configureGuest(vmUuid, { pvDrivers: false });
    await failsWith(call('VIF.unplug', v0), 'VM_MISSING_PV_DRIVERS', [vm]);
    await xe('vif-unplug', `uuid=${v0uuid}`, 'force=true');
    assert.deepEqual(await domainNics(vm), []);
    await call('VIF.plug', v0);

    // Moving a plugged VIF re-plugs its card on the new network's bridge.
    await xe('vif-move', `uuid=${v0uuid}`, `network-uuid=${await call('network.get_uuid', eth1.network)}`);
    assert.equal(await call('VIF.get_network', v0), eth1.network);
    assert.deepEqual((await domainNics(vm))?.map((n) => [n.device, n.bridge]), [['0', 'xenbr1']]);

    await call('VM.hard_shutdown', vm);
    assert.equal(await call('VIF.get_currently_attached', v0), false);
    assert.equal(await domainNics(vm), undefined);
    await xe('vif-destroy', `uuid=${v1uuid}`);
    assert.deepEqual(await call('VM.get_VIFs', vm), [v0]);
    await call('VM.start', vm, false, false);
    assert.deepEqual((await domainNics(vm))?.map((n) => n.device), ['0'], 'the remaining VIF is plugged at the next start');
    assert.equal(await call('VIF.get_currently_attached', v0), true);
    await call('VM.hard_shutdown', vm);
    await call('VIF.destroy', v0);
  });

  it('refuses hot-plug on the control domain', async () => {
    const dom0 = String(await call('host.get_control_domain', host));
    const vif = String(await call('VIF.create', completeRecord('VIF', {
      device: '0', network: (await pifByDevice('eth0'))[1].network, VM: dom0, MAC: '', MTU: 1500, other_config: {},
      qos_algorithm_type: '', qos_algorithm_params: {},
    })));
    await failsWith(call('VIF.plug', vif), 'OPERATION_NOT_ALLOWED');
    await call('VIF.destroy', vif);
  });

  it('reconfigures PIF addresses with xapi\'s validation, and moves management only to an address the host serves', async () => {
    const [eth1Ref, eth1] = await pifByDevice('eth1');
    const [eth0Ref] = await pifByDevice('eth0');
    await xeFails(/invalid IP address[\s\S]*parameter: IP/, 'pif-reconfigure-ip', `uuid=${eth1.uuid}`, 'mode=static', 'IP=10.0.0.300', 'netmask=255.255.255.0');
    await failsWith(call('PIF.reconfigure_ip', eth1Ref, 'Static', '10.0.0.3', '255.0.255.0', '', ''), 'INVALID_IP_ADDRESS_SPECIFIED', ['netmask']);
    await failsWith(call('PIF.reconfigure_ip', eth1Ref, 'Static', '10.0.0.3', '255.255.255.0', 'gw', ''), 'INVALID_IP_ADDRESS_SPECIFIED', ['gateway']);
    await failsWith(call('PIF.reconfigure_ip', eth1Ref, 'Static', '10.0.0.3', '255.255.255.0', '', '8.8.8.8,nope'), 'INVALID_IP_ADDRESS_SPECIFIED', ['DNS']);
    assert.equal(await call('PIF.get_ip_configuration_mode', eth1Ref), 'None', 'nothing kept from refused calls');

    await xe('pif-reconfigure-ip', `uuid=${eth1.uuid}`, 'mode=static', 'IP=10.0.0.3', 'netmask=255.255.255.0', 'gateway=10.0.0.1', 'DNS=10.0.0.53');
    const r = await call('PIF.get_record', eth1Ref);
    assert.deepEqual([r.ip_configuration_mode, r.IP, r.netmask, r.gateway, r.DNS], ['Static', '10.0.0.3', '255.255.255.0', '10.0.0.1', '10.0.0.53']);
    await xe('pif-reconfigure-ip', `uuid=${eth1.uuid}`, 'mode=dhcp');
    assert.deepEqual([await call('PIF.get_ip_configuration_mode', eth1Ref), await call('PIF.get_IP', eth1Ref)], ['DHCP', ''], 'no lease: the simulator carries no packets');
    await failsWith(call('host.management_reconfigure', eth1Ref), 'PIF_HAS_NO_NETWORK_CONFIGURATION', [eth1Ref]);

    // The management interface cannot lose its address, nor take one the host does not serve at.
    await failsWith(call('PIF.reconfigure_ip', eth0Ref, 'None', '', '', '', ''), 'PIF_IS_MANAGEMENT_INTERFACE', [eth0Ref]);
    await failsWith(call('PIF.reconfigure_ip', eth0Ref, 'Static', '127.0.0.5', '255.0.0.0', '', ''), 'PIF_CONFIGURATION_ERROR');
    await call('PIF.reconfigure_ip', eth1Ref, 'Static', '10.0.0.3', '255.255.255.0', '', '');
    await xeFails(/does not accept connections at 10\.0\.0\.3/, 'host-management-reconfigure', `pif-uuid=${eth1.uuid}`);
    assert.equal(await call('PIF.get_management', eth0Ref), true);
    assert.equal(await call('host.get_address', host), '127.0.0.1');

    // Management moves to eth1 once it has the address the host serves at; host.address follows.
    await call('PIF.reconfigure_ip', eth1Ref, 'Static', '127.0.0.1', '255.0.0.0', '', '');
    await xe('host-management-reconfigure', `pif-uuid=${eth1.uuid}`);
    assert.equal(await call('PIF.get_management', eth1Ref), true);
    assert.equal(await call('PIF.get_management', eth0Ref), false);
    assert.equal(await call('host.get_management_interface', host), eth1Ref);
    assert.equal(await call('host.get_address', host), '127.0.0.1');
    assert.match(await xe('pif-list', 'management=true', 'params=device'), /device \( RO\)\s*: eth1/);
    // And back, leaving eth1 as it was.
    await call('host.management_reconfigure', eth0Ref);
    await call('PIF.reconfigure_ip', eth1Ref, 'None', '', '', '', '');
    assert.equal(await call('host.get_management_interface', host), eth0Ref);
  });

  it('makes VLANs with a PIF of their own, per host and pool-wide, and refuses what xapi refuses', async () => {
    const [eth0Ref, eth0] = await pifByDevice('eth0');
    const net = await xe('network-create', 'name-label=VLAN 5');
    const netRef = String(await call('network.get_by_uuid', net));
    assert.match(String(await call('network.get_bridge', netRef)), /^xapi\d+$/);
    await xeFails(/tag you gave was invalid[\s\S]*VLAN: 4095/, 'vlan-create', `pif-uuid=${eth0.uuid}`, 'vlan=4095', `network-uuid=${net}`);
    const vlanPif = await xe('vlan-create', `pif-uuid=${eth0.uuid}`, 'vlan=5', `network-uuid=${net}`);
    const p = await call('PIF.get_record', await call('PIF.get_by_uuid', vlanPif));
    assert.deepEqual([p.device, p.VLAN, p.physical, p.network, p.host, p.MAC, p.ip_configuration_mode], ['eth0', 5, false, netRef, host, eth0.MAC, 'None']);
    const vlan = await call('VLAN.get_record', p.VLAN_master_of);
    assert.deepEqual([vlan.tag, vlan.tagged_PIF, vlan.untagged_PIF], [5, eth0Ref, await call('PIF.get_by_uuid', vlanPif)]);
    assert.deepEqual(await call('PIF.get_VLAN_slave_of', eth0Ref), [p.VLAN_master_of]);
    assert.match(await xe('vlan-list', 'params=tag'), /tag \( RO\)\s*: 5/);

    const other = String(await call('network.create', completeRecord('network', { name_label: 'other', name_description: '', MTU: 1500, other_config: {} })));
    await failsWith(call('VLAN.create', eth0Ref, 5, other), 'PIF_VLAN_EXISTS');
    await failsWith(call('VLAN.create', await call('PIF.get_by_uuid', vlanPif), 6, other), 'PIF_IS_VLAN');
    await failsWith(call('VLAN.create', (await pifByDevice('eth1'))[0], 7, netRef), 'NETWORK_ALREADY_CONNECTED');
    await failsWith(call('pool.create_VLAN', 'eth9', other, 8), 'PIF_DEVICE_NOT_FOUND');
    await failsWith(call('pool.create_VLAN_from_PIF', eth0Ref, other, -1), 'VLAN_TAG_INVALID', ['-1']);
    const pooled = (await call('pool.create_VLAN_from_PIF', (await pifByDevice('eth1'))[0], other, 8)) as string[];
    assert.equal(pooled.length, 1, 'one host, one VLAN interface');
    assert.equal(await call('PIF.get_VLAN', pooled[0]), 8);

    await xeFails(/contains active PIFs/, 'network-destroy', `uuid=${net}`);
    await xe('vlan-destroy', `uuid=${vlanPif}`);
    await call('VLAN.destroy', await call('PIF.get_VLAN_master_of', pooled[0]));
    assert.deepEqual(await call('VLAN.get_all'), []);
    assert.equal(((await call('PIF.get_all')) as string[]).length, 3);
    await xe('network-destroy', `uuid=${net}`);
    await call('network.destroy', other);
  });

  it('bonds two cards into a master PIF that takes the primary member\'s configuration, and gives it back', async () => {
    const [eth1Ref, eth1] = await pifByDevice('eth1');
    const [eth2Ref, eth2] = await pifByDevice('eth2');
    const [eth0Ref] = await pifByDevice('eth0');
    const bn = await xe('network-create', 'name-label=Bond 1+2');
    const bnRef = String(await call('network.get_by_uuid', bn));
    await call('PIF.reconfigure_ip', eth2Ref, 'Static', '10.1.0.2', '255.255.0.0', '10.1.0.1', '');
    await call('PIF.reconfigure_ip', eth1Ref, 'Static', '10.1.0.3', '255.255.0.0', '', '');
    await failsWith(call('Bond.create', bnRef, [eth1Ref, eth2Ref], '', 'balance-slb', {}), 'PIF_BOND_MORE_THAN_ONE_IP', []);
    await call('PIF.reconfigure_ip', eth1Ref, 'None', '', '', '', '');
    await xeFails(/at least two member interfaces/, 'bond-create', `network-uuid=${bn}`, `pif-uuids=${eth1.uuid}`);
    await failsWith(call('Bond.create', bnRef, [eth1Ref, eth2Ref], 'zz', 'lacp', {}), 'MAC_INVALID');

    const bondUuid = await xe('bond-create', `network-uuid=${bn}`, `pif-uuids=${eth1.uuid},${eth2.uuid}`, 'mode=active-backup');
    const bond = await call('Bond.get_record', await call('Bond.get_by_uuid', bondUuid));
    assert.equal(bond.mode, 'active-backup');
    assert.deepEqual([...bond.slaves].sort(), [eth1Ref, eth2Ref].sort());
    assert.equal(bond.primary_slave, eth2Ref, 'the member with an address is the primary');
    const master = await call('PIF.get_record', bond.master);
    assert.deepEqual([master.device, master.network, master.MAC, master.physical, master.IP, master.gateway, master.ip_configuration_mode],
      ['bond0', bnRef, eth2.MAC, false, '10.1.0.2', '10.1.0.1', 'Static']);
    assert.deepEqual(await call('PIF.get_bond_master_of', bond.master), [await call('Bond.get_by_uuid', bondUuid)]);
    const bondRef = await call('Bond.get_by_uuid', bondUuid);
    for (const m of [eth1Ref, eth2Ref]) {
      const r = await call('PIF.get_record', m);
      assert.deepEqual([r.ip_configuration_mode, r.IP, r.currently_attached, r.bond_slave_of], ['None', '', false, bondRef]);
    }
    await failsWith(call('Bond.create', bnRef, [eth1Ref, eth0Ref], '', 'lacp', {}), 'PIF_ALREADY_BONDED', [eth1Ref]);
    await failsWith(call('VLAN.create', eth1Ref, 9, String(await call('network.create', completeRecord('network', { name_label: 'v9', name_description: '', MTU: 1500, other_config: {} })))), 'CANNOT_ADD_VLAN_TO_BOND_SLAVE', [eth1Ref]);
    await failsWith(call('PIF.plug', eth2Ref), 'CANNOT_PLUG_BOND_SLAVE', [eth2Ref]);
    await xe('bond-set-mode', `uuid=${bondUuid}`, 'mode=lacp');
    assert.match(await xe('bond-list', 'params=mode'), /mode \( RW\)\s*: lacp/);

    await xe('bond-destroy', `uuid=${bondUuid}`);
    assert.deepEqual(await call('Bond.get_all'), []);
    const back = await call('PIF.get_record', eth2Ref);
    assert.deepEqual([back.IP, back.gateway, back.currently_attached, back.bond_slave_of], ['10.1.0.2', '10.1.0.1', true, 'OpaqueRef:NULL']);
    assert.equal(await call('PIF.get_currently_attached', eth1Ref), true);
    assert.equal(((await call('PIF.get_all')) as string[]).length, 3);
    await call('PIF.reconfigure_ip', eth2Ref, 'None', '', '', '', '');
    await xe('network-destroy', `uuid=${bn}`);
  });

  it('takes the README\'s NBD purpose line as written, and keeps the system networks', async () => {
    const net = await xe('network-list', 'bridge=xenbr0', '--minimal');
    await xe('network-param-add', `uuid=${net}`, 'param-name=purpose', 'param-key=nbd');
    assert.equal(await xe('network-param-get', `uuid=${net}`, 'param-name=purpose'), 'nbd');
    assert.deepEqual(await call('network.get_purpose', await call('network.get_by_uuid', net)), ['nbd']);
    await xeFails(/not compatible/i, 'network-param-add', `uuid=${await xe('network-list', 'bridge=xenbr1', '--minimal')}`, 'param-name=purpose', 'param-key=insecure_nbd');
    await xe('network-param-remove', `uuid=${net}`, 'param-name=purpose', 'param-key=nbd');
    assert.equal(await xe('network-param-get', `uuid=${net}`, 'param-name=purpose'), '');
    await xeFails(/system network/, 'network-destroy', `uuid=${await xe('network-list', 'bridge=xenapi', '--minimal')}`);
    await xeFails(/contains active PIFs/, 'network-destroy', `uuid=${net}`);
  });
});
