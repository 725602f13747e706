/**
 * xe's confirmation prompts through the real `bin/xe` and a real server: `pool-eject`
 * warns about the host's local SRs, names their disks and asks for `yes`; any other
 * answer (or none) aborts and the host stays in the pool. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { type IsletProcess } from '../helpers/islet-server.js';
import { startXeServer, type XeServer, xeOn } from '../helpers/xe.js';
import { completeRecord } from '../../src/client/create-record.js';

const PW = 'xe-confirm-pw';

describe('xe confirmation prompts', () => {
  let islet: IsletProcess;
  let api: XapiClient;
  let home: string;
  const xe = (input: string, ...args: string[]) => xeOn(() => ({ port: islet.port, password: PW, home })).answering(input, ...args);

  let server: XeServer;

  before(async () => {
    server = await startXeServer({ password: PW });
    ({ islet, api, home } = server);
  });
  after(async () => {
    await server?.stop();
  });

  it('pool-eject warns, lists the local disks and aborts unless the answer is yes', async () => {
    const [host] = (await api.call('host.get_all')) as string[];
    const hostUuid = String(await api.call('host.get_uuid', host));
    const [pool] = (await api.call('pool.get_all')) as string[];
    const sr = String(await api.call('pool.get_default_SR', pool));
    const vdi = String(await api.call('VDI.create', {
      name_label: 'doomed disk', SR: sr, virtual_size: 1 << 20, type: 'user', sharable: false, read_only: false, other_config: {}, sm_config: {},
    }));
    const vdiUuid = String(await api.call('VDI.get_uuid', vdi));
    for (const answer of ['no\n', '']) {
      const r = await xe(answer, 'pool-eject', `host-uuid=${hostUuid}`);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^WARNING: Ejecting a host from the pool will reinitialise that host's local SRs\.\n/);
      assert.match(r.out, /\nWARNING: Any data contained with the local SRs will be lost\.\n/);
      assert.match(r.out, new RegExp(`\\nThe following VDI objects will be destroyed:\\n(.*\\n)*VDI: ${vdiUuid} \\(doomed disk\\)\\n`));
      assert.match(r.out, new RegExp(`\\nType 'yes' to continue\\nAborted \\(you typed: '${answer.trim()}'\\)\\n$`));
    }
    // Nothing happened: the host and its disk are still there.
    assert.equal(String(await api.call('host.get_uuid', host)), hostUuid);
    assert.equal(String(await api.call('VDI.get_uuid', vdi)), vdiUuid);
  });

  it('vm-reset-powerstate refuses without --force, as xe; task-cancel cancels a task by uuid', async () => {
    const vm = String(await api.call('VM.create', completeRecord('VM', {
      name_label: 'reset-me', memory_static_max: 256 * 2 ** 20, memory_dynamic_max: 256 * 2 ** 20, memory_dynamic_min: 256 * 2 ** 20,
      memory_static_min: 256 * 2 ** 20, VCPUs_max: 1, VCPUs_at_startup: 1,
    })));
    const vmUuid = String(await api.call('VM.get_uuid', vm));
    const r = await xe('', 'vm-reset-powerstate', `uuid=${vmUuid}`);
    assert.equal(r.code, 1);
    assert.match(r.err, /^Error: This operation is dangerous and may cause data loss\. This operation must be forced \(use --force\)\.\n$/);
    const forced = await xe('', 'vm-reset-powerstate', `uuid=${vmUuid}`, '--force');
    assert.deepEqual(forced, { code: 0, out: '', err: '' });
    assert.equal(await api.call('VM.get_power_state', vm), 'Halted');

    const task = String(await api.call('task.create', 'to cancel', ''));
    const c = await xe('', 'task-cancel', `uuid=${String(await api.call('task.get_uuid', task))}`);
    assert.deepEqual(c, { code: 0, out: '', err: '' });
    assert.notEqual(await api.call('task.get_status', task), 'pending');
  });
});
