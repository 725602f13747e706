/**
 * The compiled `bin/xe` power and host maintenance commands against a real one-host
 * Islet with its hypervisor simulator: vm-start/-shutdown/-reboot/-suspend/-resume/
 * -pause/-unpause by name, uuid and field filters (--multiple), the errors xe prints,
 * host-disable/-enable/-compute-free-memory, and host-evacuate with nowhere to go.
 * States are read back independently through the XenAPI client. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { type IsletProcess } from '../helpers/islet-server.js';
import { startXeServer, type XeServer, xeOn } from '../helpers/xe.js';
import { completeRecord } from '../../src/client/create-record.js';

const PW = 'xe-power-pw';
const MiB = 1024 * 1024;

describe('xe VM power and host commands', () => {
  let islet: IsletProcess;
  let api: XapiClient;
  let home: string;
  const vms: Record<string, string> = {};

  const xe = xeOn(() => ({ port: islet.port, password: PW, home }));
  const ok = async (...args: string[]) => {
    const r = await xe(...args);
    assert.equal(r.code, 0, `xe ${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  const state = async (name: string) => String(await api.call('VM.get_power_state', vms[name]));

  let server: XeServer;

  before(async () => {
    server = await startXeServer({ password: PW, env: { ISLET_HYPERVISOR_MEMORY: '2G' } });
    ({ islet, api, home } = server);
    for (const [name, tier] of [['web1', 'web'], ['web2', 'web'], ['db', 'db']] as const) {
      const m = 128 * MiB;
      vms[name] = String(await api.call('VM.create', completeRecord('VM', {
        name_label: name, memory_static_max: m, memory_dynamic_max: m, memory_dynamic_min: m, memory_static_min: m,
        VCPUs_max: 1, VCPUs_at_startup: 1, other_config: { tier },
      })));
    }
  });
  after(async () => {
    await server?.stop();
  });

  it('starts, pauses, reboots, suspends, resumes and shuts down one VM by name or uuid', async () => {
    assert.equal(await ok('vm-start', 'vm=db'), '');
    assert.equal(await state('db'), 'Running');
    const uuid = String(await api.call('VM.get_uuid', vms.db));
    await ok('vm-pause', `uuid=${uuid}`);
    assert.equal(await state('db'), 'Paused');
    await ok('vm-unpause', 'vm=db');
    const domid = Number(await api.call('VM.get_domid', vms.db));
    await ok('vm-reboot', 'vm=db');
    assert.notEqual(Number(await api.call('VM.get_domid', vms.db)), domid);
    await ok('vm-reboot', 'vm=db', '--force');
    await ok('vm-suspend', 'vm=db');
    assert.equal(await state('db'), 'Suspended');
    const host = String(await api.call('host.get_name_label', String((await api.call('host.get_all') as string[])[0])));
    await ok('vm-resume', 'vm=db', `on=${host}`);
    assert.equal(await state('db'), 'Running');
    await ok('vm-shutdown', 'vm=db');
    assert.equal(await state('db'), 'Halted');
    await ok('vm-start', 'vm=db', 'paused=true');
    assert.equal(await state('db'), 'Paused');
    await ok('vm-shutdown', 'vm=db', '--force');
    assert.equal(await state('db'), 'Halted');
  });

  it('leaves the control domain out of vm-shutdown/-reboot/-suspend as xe does: a plain "Error:" line, dom0 untouched', async () => {
    const controls = await api.call('VM.get_all_records_where', 'field "is_control_domain"="true"') as Record<string, { uuid: string }>;
    const [dom0Ref, dom0Rec] = Object.entries(controls)[0]!;
    const dom0 = dom0Rec.uuid;
    const before = String(await api.call('VM.get_power_state', dom0Ref));
    for (const cmd of ['vm-shutdown', 'vm-reboot', 'vm-suspend']) {
      for (const extra of [[], ['--force']]) {
        if (cmd === 'vm-suspend' && extra.length) continue;
        const r = await xe(cmd, `uuid=${dom0}`, ...extra);
        assert.deepEqual(r, { code: 1, out: '', err: 'Error: No matching VMs found\n' }, `xe ${cmd} ${extra.join(' ')}`);
      }
    }
    assert.equal(String(await api.call('VM.get_power_state', dom0Ref)), before);
  });

  it('reports power-state errors and unknown hosts as xe does', async () => {
    const r = await xe('vm-shutdown', 'vm=db');
    assert.equal(r.code, 1);
    assert.match(r.err, /^You attempted an operation on a VM that was not in an appropriate power state at the time; .*\nvm: .*\nexpected: running\nactual: halted/);
    const h = await xe('vm-start', 'vm=db', 'on=no-such-host');
    assert.equal(h.code, 1);
    assert.match(h.err, /Host no-such-host not found/);
    const m = await xe('vm-migrate', 'vm=db');
    assert.equal(m.code, 1);
    assert.match(m.err, /No destination host specified/);
  });

  it('acts on every VM a filter selects only with --multiple', async () => {
    const r = await xe('vm-start', 'other-config:tier=web');
    assert.equal(r.code, 1);
    assert.match(r.err, /--multiple required/);
    assert.equal(await state('web1'), 'Halted');
    await ok('vm-start', 'other-config:tier=web', '--multiple');
    assert.deepEqual([await state('web1'), await state('web2'), await state('db')], ['Running', 'Running', 'Halted']);
    await ok('vm-shutdown', 'power-state=running', '--multiple', '--force');
    assert.deepEqual([await state('web1'), await state('web2')], ['Halted', 'Halted']);
  });

  it('disables and enables the host, computes its free memory, refuses to evacuate it alone', async () => {
    const hostUuid = (await ok('host-list', '--minimal')).trim();
    const free = Number((await ok('host-compute-free-memory', `host=${hostUuid}`)).trim());
    assert.equal(free, 2048 * MiB);
    await ok('vm-start', 'vm=web1');
    assert.equal(Number((await ok('host-compute-free-memory', `uuid=${hostUuid}`)).trim()), free - 136 * MiB);

    await ok('host-disable', `uuid=${hostUuid}`);
    assert.equal((await ok('host-param-get', `uuid=${hostUuid}`, 'param-name=enabled')).trim(), 'false');
    const refused = await xe('vm-start', 'vm=web2');
    assert.equal(refused.code, 1);
    assert.match(refused.err, /There were no servers available to complete the specified operation\./);
    const ev = await xe('host-evacuate', `uuid=${hostUuid}`);
    assert.equal(ev.code, 1);
    assert.match(ev.err, /There were no servers available to complete the specified operation\./);
    assert.equal(await state('web1'), 'Running');
    await ok('host-enable', `uuid=${hostUuid}`);
    assert.equal((await ok('host-param-get', `uuid=${hostUuid}`, 'param-name=enabled')).trim(), 'true');
    await ok('vm-start', 'vm=web2');
    await ok('vm-shutdown', '--multiple', 'power-state=running');
  });
});
