/**
 * The compiled `bin/xe` appliance (vApp) commands against a real one-host Islet with its
 * hypervisor simulator: appliance-create, -list, -param-*, -start, -shutdown (clean and
 * --force)/-destroy, a VM joined to an appliance with vm-param-set, and the recovery
 * commands, which need a database VDI (database:vdi-uuid=) and answer as XenServer does
 * for a VDI that holds no database. States are read back through the XenAPI client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { completeRecord } from '../../src/client/create-record.js';
import { startXeServer, type XeServer } from '../helpers/xe.js';

const PW = 'xe-vapp-pw';
const MiB = 1024 * 1024;

describe('xe appliance commands', () => {
  let server: XeServer;
  const vms: Record<string, string> = {};
  const uuids: Record<string, string> = {};

  before(async () => {
    server = await startXeServer({ password: PW, env: { ISLET_HYPERVISOR_MEMORY: '2G' } });
    for (const name of ['front', 'back']) {
      const m = 128 * MiB;
      vms[name] = String(await server.api.call('VM.create', completeRecord('VM', {
        name_label: name, memory_static_max: m, memory_dynamic_max: m, memory_dynamic_min: m, memory_static_min: m,
        VCPUs_max: 1, VCPUs_at_startup: 1,
      })));
      uuids[name] = String(await server.api.call('VM.get_uuid', vms[name]));
    }
  });
  after(async () => {
    await server?.stop();
  });

  const state = async (name: string) => String(await server.api.call('VM.get_power_state', vms[name]));

  it('creates, lists, changes, starts, shuts down and destroys an appliance', async () => {
    const { xe } = server;
    const app = (await xe.ok('appliance-create', 'name-label=shop', 'name-description=the web shop')).trim();
    assert.match(app, /^[0-9a-f-]{36}$/);
    await xe.ok('vm-param-set', `uuid=${uuids.front}`, `appliance=${app}`, 'order=1', 'start-delay=0');
    await xe.ok('vm-param-set', `uuid=${uuids.back}`, `appliance=${app}`, 'order=0', 'shutdown-delay=0');
    assert.equal((await xe.ok('vm-param-get', `uuid=${uuids.front}`, 'param-name=order')).trim(), '1');

    const list = await xe.ok('appliance-list');
    assert.match(list, new RegExp(`uuid \\( RO\\)\\s+: ${app}`));
    assert.match(list, /name-label \( RW\): shop/);
    assert.match(list, /name-description \( RW\): the web shop/);
    assert.match(list, /allowed-operations \(SRO\): start/);
    const members = (await xe.ok('appliance-param-get', `uuid=${app}`, 'param-name=VMs')).trim().split('; ').sort();
    assert.deepEqual(members, [uuids.front, uuids.back].sort());
    await xe.ok('appliance-param-set', `uuid=${app}`, 'name-label=shop2');
    assert.equal((await xe.ok('appliance-list', 'params=name-label', '--minimal')).trim(), 'shop2');

    await xe.ok('appliance-start', `uuid=${app}`);
    assert.deepEqual([await state('front'), await state('back')], ['Running', 'Running']);
    const again = await xe('appliance-start', `uuid=${app}`);
    assert.notEqual(again.code, 0);
    assert.match(again.err, /operation that was not allowed/);
    assert.match(again.err, /There are no halted VMs in this appliance\./);

    await xe.ok('appliance-shutdown', `uuid=${app}`);
    assert.deepEqual([await state('front'), await state('back')], ['Halted', 'Halted']);
    await xe.ok('appliance-start', `uuid=${app}`, 'paused=true');
    assert.deepEqual([await state('front'), await state('back')], ['Paused', 'Paused']);
    await xe.ok('appliance-shutdown', `uuid=${app}`, '--force');
    assert.deepEqual([await state('front'), await state('back')], ['Halted', 'Halted']);

    await xe.ok('appliance-destroy', `uuid=${app}`);
    assert.equal((await xe.ok('appliance-list', '--minimal')).trim(), '');
  });

  it('needs a database VDI to recover from, and answers as XenServer for one without a database', async () => {
    const { xe, api } = server;
    const app = (await xe.ok('appliance-create', 'name-label=dr')).trim();
    const noDb = await xe('appliance-assert-can-be-recovered', `uuid=${app}`);
    assert.notEqual(noDb.code, 0);
    assert.match(noDb.err, /database:vdi-uuid=/);

    const [pool] = (await api.call('pool.get_all')) as string[];
    const sr = await api.call('pool.get_default_SR', pool);
    const mk = async (type: string) => String(await api.call('VDI.get_uuid', await api.call('VDI.create', {
      name_label: type, SR: sr, virtual_size: MiB, type, sharable: false, read_only: false, other_config: {}, sm_config: {},
    })));
    const user = await mk('user');
    const wrong = await xe('appliance-recover', `uuid=${app}`, `database:vdi-uuid=${user}`);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.err, /incompatible type/);
    const metadata = await mk('metadata');
    const empty = await xe('vm-assert-can-be-recovered', `uuid=${uuids.front}`, `database:vdi-uuid=${metadata}`);
    assert.notEqual(empty.code, 0);
    assert.match(empty.err, /import a database from a metadata VDI/);
  });
});
