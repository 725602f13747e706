/**
 * `islet pool up` stopped with SIGTERM stops every host by asking (SIGTERM), and each
 * process exits by itself within the supervisor's grace: a pool with VMs running on every
 * host, disks on the shared SR, and an `event.from` long poll waiting on the master. A
 * process that had to be killed shows as `exited (SIGKILL)` in its host's log and as a
 * `killed with SIGKILL` line on the supervisor's stderr. How long each took is written in
 * the logs (`… ms after it was asked to stop`) and reported as the test's diagnostics.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { completeRecord } from '../../src/client/create-record.js';
import { startPool, type IsletPool } from '../helpers/islet-pool.js';

const MiB = 1024 * 1024;
const HOSTS = 3;

describe('pool up stopped by SIGTERM', { timeout: 600_000 }, () => {
  let pool: IsletPool | undefined;
  let c: XapiClient | undefined;

  before(async () => {
    pool = await startPool({ hosts: HOSTS, memory: '4G' });
  });
  after(async () => {
    c?.close();
    await pool?.stop();
  });

  it('every host\'s toolstack and simulator exit by themselves: none needs SIGKILL', async (t) => {
    const p = pool!;
    c = await p.client();
    const poolRef = ((await c.call('pool.get_all')) as string[])[0]!;
    const sr = String(await c.call('pool.get_default_SR', poolRef));
    const m = 256 * MiB;
    for (let i = 0; i < HOSTS; i++) {
      const host = await p.hostRef(i);
      for (let k = 0; k < 2; k++) {
        const vm = String(await c.call('VM.create', completeRecord('VM', {
          name_label: `stop-${i}-${k}`, memory_static_max: m, memory_dynamic_max: m, memory_dynamic_min: m, memory_static_min: m,
          VCPUs_max: 1, VCPUs_at_startup: 1, actions_after_reboot: 'restart',
        })));
        const vdi = await c.callAsync('VDI.create', {
          name_label: `stop-${i}-${k} disk`, name_description: '', SR: sr, virtual_size: 32 * MiB, type: 'user',
          sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
        });
        await c.call('VBD.create', {
          VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', unpluggable: false, empty: false,
          qos_algorithm_type: '', qos_algorithm_params: {}, other_config: {}, device: '', currently_attached: false,
        });
        await c.call('VM.start_on', vm, host, false, false);
      }
    }
    // A long poll waiting on the master when the stop comes (its answer or failure is not the point).
    const token = String(((await c.call('event.from', ['vm'], '', 0)) as { token: string }).token);
    const waiting = c.call('event.from', ['vm'], token, 60).catch(() => undefined);

    const exited = new Promise<number | null>((r) => p.supervisor.once('exit', (code) => r(code)));
    p.supervisor.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 300_000).unref())]);
    assert.notEqual(code, 'hung', `the supervisor did not exit within 300 s of SIGTERM:\n${p.stderr()}`);
    assert.equal(code, 0, p.stderr());
    await waiting;

    assert.doesNotMatch(p.stderr(), /killed with SIGKILL/, 'the supervisor killed no process');
    for (let i = 0; i < HOSTS; i++) {
      for (const which of ['toolstack', 'hypervisor'] as const) {
        const log = readFileSync(join(p.hosts[i]!.dataDir, `${which}.log`), 'utf8');
        const last = [...log.matchAll(/ host\d+ \w+ exited \((\w+)\)( (\d+) ms after it was asked to stop)?/g)].at(-1);
        assert.ok(last, `host${i} ${which}: no exit in its log`);
        assert.equal(last[1], '0', `host${i} ${which} exited (${last[1]}), not by itself`);
        assert.ok(last[3] !== undefined, `host${i} ${which}: its exit was not one the supervisor asked for`);
        t.diagnostic(`host${i} ${which}: exited ${last[3]} ms after SIGTERM`);
      }
    }
  });
});
