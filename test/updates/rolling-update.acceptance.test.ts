/**
 * Issue 6's rolling pool update acceptance on 3-host pools of real processes, 6 VMs running
 * on the shared SR, an update asking for a host reboot:
 *
 * - `xe pool-rolling-update uuid=` runs to the end through the master's own reboot: the
 *   master goes first, every host ends with the update applied and nothing pending, no VM
 *   ever leaves Running (event stream on the master, and each guest's boot id unchanged),
 *   and every VM ends on its home host;
 * - `kill -9` of the master's toolstack in the middle of a run: the restarted master resumes
 *   the run and finishes it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { SimHypervisorClient } from '../../src/hypervisor/sim-hypervisor-client.js';
import { startPool, waitFor, type IsletPool } from '../helpers/islet-pool.js';
import { UpdateFixture } from './update-fixture.js';
import { twinUuid } from '../../src/updates/patch-records.js';
import { startRunningVm, watchVms } from './pool-vms.js';

type Rec = Record<string, any>;

async function guestBoots(pool: IsletPool): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const h of pool.hosts) {
    const hv = await SimHypervisorClient.connect({ stateDir: join(h.dataDir, 'hypervisor') });
    try {
      for (const d of await hv.list()) out.set(d.vmUuid, d.guestBootId);
    } finally {
      await hv.close();
    }
  }
  return out;
}

async function setUp(fx: UpdateFixture, name: string, guidance: string[]) {
  const pool = await startPool({ hosts: 3, memory: '4G', migrationRate: 2048, args: ['--update-key', fx.keyFile] });
  const c = await pool.client();
  const refs: string[] = [];
  for (let i = 0; i < 3; i++) refs.push(await pool.hostRef(i));
  const sr = String(await c.call('pool.get_default_SR', ((await c.call('pool.get_all')) as string[])[0]));
  const vms: string[] = [];
  for (let i = 0; i < 6; i++) vms.push(await startRunningVm(c, sr, `${name}-vm${i}`, refs[i % 3]!));
  const u = await fx.custom({ name, guidance });
  const port = String(new URL(pool.masterUrl).port);
  const conn = ['-s', '127.0.0.1', '-p', port, '-u', 'root', '-pw', pool.rootPassword];
  const up = await fx.xe(['patch-upload', ...conn, `file-name=${u.path}`]);
  assert.equal(up.code, 0, up.err);
  return { pool, c, refs, vms, uuid: u.uuid, conn };
}

describe('rolling pool update', { timeout: 900_000 }, () => {
  let fx: UpdateFixture;
  let pool: IsletPool | undefined;
  let c: XapiClient | undefined;
  before(async () => { fx = await UpdateFixture.create(); });
  after(async () => {
    c?.close();
    await pool?.stop();
    await fx?.close();
  });

  it('xe pool-rolling-update: master first, all applied, no VM ever leaves Running, VMs end at home', async () => {
    const s = await setUp(fx, 'XS602E007', ['restartHost']);
    pool = s.pool;
    c = s.c;
    const homes = new Map<string, string>();
    for (const vm of s.vms) homes.set(vm, String(await c.call('VM.get_resident_on', vm)));
    const boots = await guestBoots(pool);
    const bootTimes = await Promise.all(s.refs.map(async (r) => Number(((await c!.call('host.get_other_config', r)) as Rec).boot_time)));

    const dry = await fx.xe(['pool-rolling-update', ...s.conn, `uuid=${twinUuid(s.uuid)}`, '--dry-run']);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /^1\. host0 .*reboot/m);
    assert.match(dry.out, /^3\. host2 /m);
    assert.match(dry.out, /Estimated duration: \d+/);

    let out = '';
    const seen = await watchVms(c, s.vms, async () => {
      const r = await fx.xe(['pool-rolling-update', ...s.conn, `uuid=${s.uuid}`]);
      out = r.out;
      assert.equal(r.code, 0, `${r.out}\n${r.err}\n${pool!.logs(0)}`);
    }, () => pool!.client());
    c.close();
    c = await pool.client();
    assert.match(out, /Rolling update finished/);
    // xe prints the steps it sees (polling, so quick ones may pass unseen): host0's come first.
    const firstStep = /^(host\d): \w+$/m.exec(out);
    assert.equal(firstStep?.[1], 'host0', out);

    // Master first, then the others: each rebooted once, in that order.
    const after = await Promise.all(s.refs.map(async (r) => Number(((await c!.call('host.get_other_config', r)) as Rec).boot_time)));
    after.forEach((t, i) => assert.ok(t > bootTimes[i]!, `host${i} rebooted`));
    assert.ok(after[0]! < after[1]! && after[1]! < after[2]!, `reboot order ${after}`);

    const pp = (await c.call('pool_patch.get_record', await c.call('pool_patch.get_by_uuid', s.uuid))) as Rec;
    assert.equal(pp.host_patches.length, 3);
    assert.equal(pp.pool_applied, true);
    for (const r of s.refs) {
      await waitFor(async () => ((await c!.call('host.get_pending_guidances', r)) as string[]).length === 0, 30_000, 'guidance cleared');
      assert.equal(await c.call('host.get_enabled', r), true);
    }
    for (const vm of s.vms) {
      assert.equal(await c.call('VM.get_power_state', vm), 'Running');
      assert.equal(await c.call('VM.get_resident_on', vm), homes.get(vm), 'back home');
      assert.deepEqual([...seen.get(vm)!], ['Running']);
    }
    const afterBoots = await guestBoots(pool);
    for (const [uuid, boot] of boots) assert.equal(afterBoots.get(uuid), boot, `guest ${uuid} was restarted`);
    const runs = Object.values((await c.call('islet_rolling_update.get_all_records')) as Record<string, Rec>);
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.status, 'done');
    assert.deepEqual(runs[0]!.hosts.slice(0, 1), [s.refs[0]]);
    c.close();
    c = undefined;
    await pool.stop();
    pool = undefined;
  });

  it('kill -9 of the master mid-run: the restarted master resumes the run and finishes it', async () => {
    const s = await setUp(fx, 'XS602E008', ['restartXAPI']);
    pool = s.pool;
    c = s.c;
    const update = await c.call('pool_update.get_by_uuid', twinUuid(s.uuid));
    await c.call('Async.pool.islet_rolling_update', update, {});
    const run = await waitFor(async () => Object.entries((await c!.call('islet_rolling_update.get_all_records')) as Record<string, Rec>)[0], 60_000, 'the run record');
    const runRef = run[0];
    // The master restarts its own toolstack first, which ends our session: log in again then.
    const ask = async <T>(fn: (cl: XapiClient) => Promise<T>): Promise<T> => {
      try {
        return await fn(c!);
      } catch (e) {
        c!.close();
        c = await pool!.client().catch(() => c!);
        throw e;
      }
    };
    // Wait until the run is busy with the first member, then kill the master's toolstack.
    await waitFor(() => ask(async (cl) => {
      const st = (await cl.call('islet_rolling_update.get_host_states', runRef)) as Record<string, string>;
      return ['evacuate', 'apply', 'restart', 'wait'].includes(st[s.refs[1]!]!);
    }), 180_000, 'host1 under way', 50);
    await pool.kill9Toolstack(0);
    c.close();
    c = await waitFor(() => pool!.client(), 120_000, 'the master back');
    const done = await waitFor(() => ask(async (cl) => {
      const r = (await cl.call('islet_rolling_update.get_record', runRef)) as Rec;
      if (r.status === 'paused') throw new Error(`paused: ${r.error_info}`);
      return r.status === 'done' ? r : undefined;
    }), 300_000, 'the resumed run to finish', 500);
    assert.deepEqual(Object.values(done.host_states), ['done', 'done', 'done']);
    const pp = (await c.call('pool_patch.get_record', await c.call('pool_patch.get_by_uuid', s.uuid))) as Rec;
    assert.equal(pp.host_patches.length, 3);
    for (const r of s.refs) assert.equal(await c.call('host.get_enabled', r), true);
    for (const vm of s.vms) assert.equal(await c.call('VM.get_power_state', vm), 'Running');
  });
});
