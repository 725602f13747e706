/**
 * Network work that crosses hosts, on a real `islet pool up` of two hosts: a pool-wide VLAN
 * makes one VLAN PIF on every host; a member's management interface is reconfigured
 * through the master (the member alone decides what it serves at); and a NIC is hot-plugged
 * into a VM running on the member, whose hypervisor then holds the card.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { SimHypervisorClient } from '../../src/hypervisor/sim-hypervisor-client.js';
import { completeRecord } from '../../src/client/create-record.js';
import { startPool, type IsletPool } from '../helpers/islet-pool.js';

const MiB = 1024 * 1024;
type Rec = Record<string, any>;

describe('networks across a pool', { timeout: 300_000 }, () => {
  let pool: IsletPool;
  let c: XapiClient;
  const hosts: string[] = [];

  const call = (m: string, ...a: unknown[]) => c.call(m, ...a) as Promise<any>;
  const failsWith = (p: Promise<unknown>, code: string) => assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, String(e));
    return true;
  });
  const managementPif = async (host: string): Promise<[string, Rec]> => {
    const all = Object.entries((await call('PIF.get_all_records')) as Record<string, Rec>);
    const found = all.find(([, r]) => r.host === host && r.management === true);
    assert.ok(found, `management PIF of ${host}`);
    return found;
  };

  before(async () => {
    pool = await startPool({ hosts: 2 });
    c = await pool.client();
    for (let i = 0; i < 2; i++) hosts.push(await pool.hostRef(i));
  });
  after(async () => {
    c?.close();
    await pool?.stop();
  });

  it('makes a pool-wide VLAN as one VLAN PIF on each host', async () => {
    const [pif0] = await managementPif(hosts[0]!);
    const net = String(await call('network.create', completeRecord('network', { name_label: 'VLAN 20', name_description: '', MTU: 1500, other_config: {} })));
    const made = (await call('pool.create_VLAN_from_PIF', pif0, net, 20)) as string[];
    assert.equal(made.length, 2);
    const recs = await Promise.all(made.map((p) => call('PIF.get_record', p)));
    assert.deepEqual(recs.map((r) => r.host).sort(), [...hosts].sort());
    for (const r of recs) assert.deepEqual([r.device, r.VLAN, r.network, r.physical], ['eth0', 20, net, false]);
    await failsWith(call('pool.create_VLAN', 'eth0', net, 21), 'NETWORK_ALREADY_CONNECTED');
    assert.equal(((await call('VLAN.get_all')) as string[]).length, 2, 'nothing made by the refused call');
    for (const v of (await call('VLAN.get_all')) as string[]) await call('VLAN.destroy', v);
    await call('network.destroy', net);
  });

  it('reconfigures a member\'s management interface on the member, through the master', async () => {
    const [pif1, rec1] = await managementPif(hosts[1]!);
    const address = String(await call('host.get_address', hosts[1]));
    await failsWith(call('PIF.reconfigure_ip', pif1, 'Static', '10.9.9.9', '255.255.255.0', '', ''), 'PIF_CONFIGURATION_ERROR');
    assert.equal(await call('PIF.get_IP', pif1), rec1.IP);
    await call('PIF.reconfigure_ip', pif1, 'Static', address, '255.0.0.0', '127.0.0.254', '');
    const now = await call('PIF.get_record', pif1);
    assert.deepEqual([now.ip_configuration_mode, now.IP, now.netmask, now.gateway], ['Static', address, '255.0.0.0', '127.0.0.254']);
    assert.equal(await call('host.get_address', hosts[1]), address);
    await call('host.management_reconfigure', pif1);
    assert.equal(await call('PIF.get_management', pif1), true);
  });

  it('hot-plugs a NIC into a VM running on a member', async () => {
    const vm = String(await call('VM.create', completeRecord('VM', {
      name_label: 'on member', memory_static_max: 128 * MiB, memory_dynamic_max: 128 * MiB, memory_dynamic_min: 128 * MiB,
      memory_static_min: 128 * MiB, VCPUs_max: 1, VCPUs_at_startup: 1,
    })));
    const [, pif] = await managementPif(hosts[1]!);
    await call('VM.start_on', vm, hosts[1], false, false);
    const vif = String(await call('VIF.create', completeRecord('VIF', {
      device: '2', network: pif.network, VM: vm, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {},
    })));
    await call('VIF.plug', vif);
    assert.equal(await call('VIF.get_currently_attached', vif), true);
    const hv = await SimHypervisorClient.connect({ stateDir: join(pool.hosts[1]!.dataDir, 'hypervisor') });
    try {
      const uuid = await call('VM.get_uuid', vm);
      const d = (await hv.list()).find((x) => x.vmUuid === uuid);
      assert.deepEqual(d?.nics?.map((n) => [n.device, n.mac, n.bridge]), [['2', await call('VIF.get_MAC', vif), 'xenbr0']]);
      await failsWith(call('VIF.plug', vif), 'DEVICE_ALREADY_ATTACHED');
      await call('VIF.unplug', vif);
      assert.deepEqual((await hv.list()).find((x) => x.vmUuid === uuid)?.nics, []);
    } finally {
      await hv.close();
    }
    await call('VM.hard_shutdown', vm);
    await call('VIF.destroy', vif);
    await call('VM.destroy', vm);
  });
});
