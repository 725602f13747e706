/**
 * Issue 6's first acceptance: the hotfix note's off-host CLI steps, verbatim but for `-p`,
 * on a 3-host pool of real processes with VMs running on the shared SR, started as a new user
 * starts one (`islet pool up --hosts 3 … --update-key updates-public.asc`). The update is made
 * with `zip` and `gpg` alone and shipped as the note's attachment (a zip); step 2 extracts
 * it with `unzip`; `xe patch-upload … file-name=XS602E006.xsupdate` prints the uuid;
 * `xe patch-pool-apply uuid=` (connection from ~/.xe, as on a host); `xe patch-list …
 * name-label=XS602E006` shows the three hosts; `xe-toolstack-restart` on each host; then no
 * guidance is pending, XenCenter would say "Fully applied", and no VM stopped or moved (its
 * record, the event stream and the guest's boot id all say so).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { SimHypervisorClient } from '../../src/hypervisor/sim-hypervisor-client.js';
import { poolPatchStatuses } from '../../src/updates/patch-status.js';
import { startPool, waitFor, type IsletPool } from '../helpers/islet-pool.js';
import { repoRoot } from '../helpers/repo-root.js';
import { UPDATE_UUID } from './package/hand-build.js';
import { UpdateFixture } from './update-fixture.js';
import { startRunningVm, watchVms } from './pool-vms.js';

const run = promisify(execFile);
type Rec = Record<string, any>;

describe('the hotfix note\'s CLI path on a 3-host pool', { timeout: 600_000 }, () => {
  let fx: UpdateFixture;
  let pool: IsletPool;
  let c: XapiClient;
  const refs: string[] = [];
  const vms: string[] = [];

  const guestBoots = async () => {
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
  };

  before(async () => {
    fx = await UpdateFixture.create();
    pool = await startPool({ hosts: 3, memory: '4G', args: ['--update-key', fx.keyFile] });
    c = await pool.client();
    for (let i = 0; i < 3; i++) refs.push(await pool.hostRef(i));
    const sr = String(await c.call('pool.get_default_SR', ((await c.call('pool.get_all')) as string[])[0]));
    for (let i = 0; i < 6; i++) vms.push(await startRunningVm(c, sr, `note-vm${i}`, refs[i % 3]!));
  });
  after(async () => {
    c?.close();
    await pool?.stop();
    await fx?.close();
  });

  it('upload, pool-apply, list, toolstack restarts: applied everywhere, nothing pending, no VM stopped or moved', async () => {
    const port = String(new URL(pool.masterUrl).port);
    const conn = ['-s', '127.0.0.1', '-p', port, '-u', 'root', '-pw', pool.rootPassword];
    // 1-2. The attachment is a zip; extract the xsupdate from it.
    const attachment = await fx.build({ wrap: true });
    const dl = await mkdtemp(join(fx.work, 'download-'));
    await run('unzip', ['-q', attachment, 'XS602E006.xsupdate', '-d', dl]);
    const homes = new Map<string, string>();
    for (const vm of vms) homes.set(vm, String(await c.call('VM.get_resident_on', vm)));
    const boots = await guestBoots();

    const seen = await watchVms(c, vms, async () => {
      // 4. Upload to the pool master; it prints the uuid.
      const up = await fx.xe(['patch-upload', ...conn, 'file-name=XS602E006.xsupdate'], { cwd: dl });
      assert.equal(up.code, 0, up.err);
      assert.equal(up.out.trim(), UPDATE_UUID);

      // 5. Apply to all hosts; the connection comes from ~/.xe, as on the host's console.
      await writeFile(join(fx.work, '.xe'), `server=127.0.0.1\nport=${port}\nusername=root\npassword=${pool.rootPassword}\n`);
      const apply = await fx.xe([`patch-pool-apply`, `uuid=${up.out.trim()}`]);
      assert.equal(apply.code, 0, apply.err);

      // 6. patch-list: the hosts field holds every host of the pool.
      const list = await fx.xe(['patch-list', ...conn, 'name-label=XS602E006']);
      assert.equal(list.code, 0, list.err);
      const hostUuids = await Promise.all(refs.map(async (r) => String(await c.call('host.get_uuid', r))));
      const m = /^\s*hosts \(SRO\): (.*)$/m.exec(list.out);
      assert.ok(m, list.out);
      assert.deepEqual(m[1]!.split(', ').sort(), [...hostUuids].sort());
      assert.match(list.out, /^uuid \( RO\)\s+: b6f7bfe0-b969-11e1-afa6-0800200c9a66$/m);
      assert.match(list.out, /after-apply-guidance \(SRO\): restartXAPI$/m);
      for (const r of refs) assert.deepEqual(await c.call('host.get_pending_guidances', r), ['restart_toolstack']);

      // 7. The toolstack is reloaded on every host.
      const tool = join(repoRoot(), 'bin', 'xe-toolstack-restart');
      for (let i = 0; i < 3; i++) {
        const before = Number(((await c.call('host.get_other_config', refs[i])) as Rec).agent_start_time);
        const r = await run(process.execPath, [tool, '--data-dir', pool.hosts[i]!.dataDir], { timeout: 180_000 });
        assert.match(r.stdout, /done\./);
        if (i === 0) {
          c.close();
          c = await waitFor(() => pool.client(), 60_000, 'a login on the master after its toolstack restart');
        }
        await waitFor(async () => Number(((await c.call('host.get_other_config', refs[i])) as Rec).agent_start_time) > before, 60_000, `host${i} agent restart seen`);
      }
    }, () => pool.client());

    // No guidance pending anywhere; the update is in effect.
    for (const [i, r] of refs.entries()) {
      await waitFor(async () => ((await c.call('host.get_pending_guidances', r)) as string[]).length === 0, 30_000, `host${i} guidance cleared`);
      const sv = (await c.call('host.get_software_version', r)) as Record<string, string>;
      assert.equal(sv['xs:XS602E006'], 'XS602E006, version 1.0');
      assert.deepEqual(await c.call('host.get_updates_requiring_reboot', r), []);
    }
    // 8. XenCenter's General tab: Fully applied.
    const pl = Object.values((await c.call('pool.get_all_records')) as Record<string, Rec>)[0]!;
    assert.deepEqual(poolPatchStatuses({
      hosts: (await c.call('host.get_all_records')) as Record<string, Rec>, pool: pl,
      poolPatches: (await c.call('pool_patch.get_all_records')) as Record<string, Rec>,
      poolUpdates: (await c.call('pool_update.get_all_records')) as Record<string, Rec>,
    }), { XS602E006: 'Fully applied' });
    assert.equal(pl.islet_mixed_state, false);

    // No VM stopped or moved.
    for (const vm of vms) {
      assert.equal(await c.call('VM.get_power_state', vm), 'Running');
      assert.equal(await c.call('VM.get_resident_on', vm), homes.get(vm));
      assert.deepEqual([...seen.get(vm)!], ['Running'], `power states seen for ${vm}`);
    }
    const after = await guestBoots();
    for (const [uuid, boot] of boots) assert.equal(after.get(uuid), boot, `guest ${uuid} booted again`);
  });

  it('a member sends uploads to the master (the redirect Xen Orchestra\'s probe looks for)', async () => {
    const member = pool.hosts[1]!;
    const res = await fetch(`http://127.0.0.1:${member.port}/pool_patch_upload?session_id=x`, { method: 'PUT', body: '', redirect: 'manual' });
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get('location')!);
    assert.equal(loc.port, new URL(pool.masterUrl).port);
    assert.equal(loc.pathname, '/pool_patch_upload');
  });
});
