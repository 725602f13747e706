/**
 * Hotfixes across three hosts in one process (test/helpers/local-pool.ts: real hypervisor
 * simulator processes, one database, host-to-host calls through each host's own services):
 * pool-apply installs on every host's own disk with members fetching the file from the
 * master, a host that is down is reported by UPDATE_POOL_APPLY_FAILED while the others are
 * done, records resync from markers, the mixed-state flag follows, and a rolling update
 * (restart `none`, since these hosts are not supervised processes) evacuates each host live,
 * master first, and brings every VM home without one ever leaving Running.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newRef, newUuid, type Ref } from '../../src/core/ref.js';
import { verifyUpdateFile } from '../../src/updates/package/verify-update.js';
import { storedUpdatePath } from '../../src/updates/patch-files.js';
import { createUpdateRecords } from '../../src/updates/patch-records.js';
import { resyncHost } from '../../src/updates/patch-service.js';
import { startRollingUpdate } from '../../src/updates/rolling/rolling-update.js';
import { updateEnv } from '../../src/updates/update-env.js';
import { addUpdateKeys, trustedUpdateKeys } from '../../src/updates/update-keys.js';
import { poolIsMixed } from '../../src/updates/update-state.js';
import { GiB, MiB, startLocalPool, type LocalPool } from '../helpers/local-pool.js';
import { UpdateFixture } from './update-fixture.js';

type Rec = Record<string, any>;

describe('hotfixes across a pool (in process)', () => {
  let fx: UpdateFixture;
  let lp: LocalPool;

  before(async () => {
    fx = await UpdateFixture.create();
    lp = await startLocalPool({ hosts: 3, memory: 3 * GiB, migrationRateMiBs: 4096 });
    await addUpdateKeys(lp.db, await readFile(fx.keyFile));
  });
  after(async () => {
    await lp?.stop();
    await fx?.close();
  });

  /** Puts an update on the master as the upload handler would. */
  async function upload(path: string): Promise<{ patch: Ref<'pool_patch'>; update: Ref<'pool_update'>; uuid: string }> {
    const v = await verifyUpdateFile(path, trustedUpdateKeys(lp.db));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(lp.hosts[0]!.services.dataDir, 'patch'), { recursive: true });
    await copyFile(path, storedUpdatePath(lp.hosts[0]!.services.dataDir, v.manifest.uuid));
    return createUpdateRecords(lp.db, v.manifest, v.fingerprint, 1);
  }

  it('pool_apply installs on every host from the master\'s copy', async () => {
    const u = await upload((await fx.custom({ name: 'ALL', payload: { 'opt/islet/all': 'all\n' } })).path);
    assert.equal(poolIsMixed(lp.db), false);
    await lp.call('pool_patch.pool_apply', { self: u.patch });
    for (const h of lp.hosts) {
      assert.equal(await readFile(join(h.services.dataDir, 'software/opt/islet/all'), 'utf8'), 'all\n');
      assert.ok(existsSync(join(h.services.dataDir, 'patch/applied', u.uuid)));
    }
    const pp = lp.db.get('pool_patch', u.patch) as Rec;
    assert.equal(pp.host_patches.length, 3);
    assert.equal(pp.pool_applied, true);
    assert.deepEqual(new Set((lp.db.get('pool_update', u.update) as Rec).hosts), new Set(lp.hosts.map((h) => h.ref)));
    assert.equal(poolIsMixed(lp.db), false, 'same updates everywhere');
  });

  it('carries on past a host that is down and names it (UPDATE_POOL_APPLY_FAILED)', async () => {
    const u = await upload((await fx.custom({ name: 'PARTIAL' })).path);
    lp.setOffline(2, true);
    try {
      await assert.rejects(lp.call('pool_patch.pool_apply', { self: u.patch }), (e: Error & { code?: string; params?: string[] }) => {
        assert.equal(e.code, 'UPDATE_POOL_APPLY_FAILED');
        assert.deepEqual(e.params, [String(lp.db.get('host', lp.hosts[2]!.ref)!.uuid)]);
        return true;
      });
    } finally {
      lp.setOffline(2, false);
    }
    assert.equal((lp.db.get('pool_patch', u.patch) as Rec).host_patches.length, 2);
    assert.equal((lp.db.get('pool_patch', u.patch) as Rec).pool_applied, false);
    assert.equal(poolIsMixed(lp.db), true);
    assert.equal((lp.db.all('pool')[0]![1] as Rec).islet_mixed_state, true);
    await lp.call('pool_patch.apply', { self: u.patch, host: lp.hosts[2]!.ref });
    assert.equal((lp.db.get('pool_patch', u.patch) as Rec).pool_applied, true);
    assert.equal(poolIsMixed(lp.db), false);
  });

  it('resynchronises a host\'s records from its markers', async () => {
    const h = lp.hosts[1]!;
    const hp = lp.db.all('host_patch').filter(([, r]) => r.host === h.ref);
    assert.equal(hp.length, 2);
    lp.db.remove('host_patch', hp[0]![0]);
    await resyncHost(updateEnv(lp.hosts[0]!.services), h.ref);
    assert.equal(lp.db.all('host_patch').filter(([, r]) => r.host === h.ref).length, 2);
  });

  it('rolls an update out: master first, VMs evacuated live and brought home, none stopped', async () => {
    const vms: Ref<'VM'>[] = [];
    for (let i = 0; i < 6; i++) {
      const vm = lp.makeVm({ name: `rvm${i}`, memory: 256 * MiB });
      await lp.call('VM.start_on', { vm, host: lp.hosts[i % 3]!.ref, start_paused: false, force: false });
      vms.push(vm);
    }
    const home = new Map(vms.map((vm) => [vm, lp.vm(vm).resident_on]));
    const u = await upload((await fx.custom({ name: 'ROLL', guidance: ['restartHost'] })).path);
    // Watch every VM record while the run goes: power_state never leaves Running.
    let watching = true;
    const states = new Set<string>();
    const disabledOrder: string[] = [];
    const watcher = (async () => {
      let gen = lp.db.generation;
      while (watching) {
        await lp.db.waitForChange(gen, 100);
        const ch = lp.db.changesSince(gen, (c) => c === 'VM' || c === 'host');
        gen = ch.gen;
        for (const c of ch.changes) {
          const r = lp.db.get(c.cls, c.ref) as Rec | undefined;
          if (c.cls === 'VM' && r && vms.includes(c.ref as Ref<'VM'>)) states.add(r.power_state);
          if (c.cls === 'host' && r && r.enabled === false && disabledOrder.at(-1) !== c.ref) disabledOrder.push(c.ref);
        }
      }
    })();
    const dry = await startRollingUpdate(lp.hosts[0]!.services, u.update, { dry_run: 'true', restart: 'none' });
    assert.match(dry, /Estimated duration/);
    assert.match(dry, /^1\. host0 /m);
    const run = await startRollingUpdate(lp.hosts[0]!.services, u.update, { restart: 'none' });
    watching = false;
    await watcher;
    assert.deepEqual([...states], ['Running']);
    assert.deepEqual(disabledOrder, lp.hosts.map((h) => h.ref), 'master first, one at a time');
    const rec = lp.db.get('islet_rolling_update', run as Ref) as Rec;
    assert.equal(rec.status, 'done');
    assert.ok(existsSync(rec.backup_file));
    for (const vm of vms) assert.equal(lp.vm(vm).resident_on, home.get(vm), 'VM back home');
    for (const h of lp.hosts) {
      assert.ok(existsSync(join(h.services.dataDir, 'patch/applied', u.uuid)));
      assert.equal((lp.db.get('host', h.ref) as Rec).enabled, true);
    }
    // A VM moved during the run only ever went to an updated host or away from a host being updated.
    assert.equal((lp.db.get('pool_patch', u.patch) as Rec).pool_applied, true);
  });

  it('refuses a new run over a mixed pool unless forced', async () => {
    const u = await upload((await fx.custom({ name: 'HALF' })).path);
    await lp.call('pool_patch.apply', { self: u.patch, host: lp.hosts[1]!.ref });
    const v = await upload((await fx.custom({ name: 'NEXT' })).path);
    await assert.rejects(startRollingUpdate(lp.hosts[0]!.services, v.update, { restart: 'none' }), /mixed state/);
    const plan = await startRollingUpdate(lp.hosts[0]!.services, v.update, { restart: 'none', force: 'true', dry_run: 'true' });
    assert.match(plan, /3 host\(s\)/);
  });

  it('while a run is under way, no VM moves from an updated host to one that is not', async () => {
    const half = lp.db.refByUuid('pool_update', String(lp.db.all('pool_update').find(([, u]) => u.name_label === 'HALF')![1].uuid))!;
    const run = newRef<'islet_rolling_update'>();
    lp.db.create('islet_rolling_update', run, { uuid: newUuid(), update: half, status: 'paused' });
    const vm = lp.makeVm({ name: 'stay', memory: 128 * MiB });
    await lp.call('VM.start_on', { vm, host: lp.hosts[1]!.ref, start_paused: false, force: false });
    await assert.rejects(lp.call('VM.pool_migrate', { vm, host: lp.hosts[0]!.ref, options: {} }),
      (e: Error & { code?: string }) => e.code === 'VM_HOST_INCOMPATIBLE_VERSION');
    assert.equal(lp.vm(vm).resident_on, lp.hosts[1]!.ref);
    lp.db.update('islet_rolling_update', run, { status: 'aborted' });
    await lp.call('VM.pool_migrate', { vm, host: lp.hosts[0]!.ref, options: {} });
    assert.equal(lp.vm(vm).resident_on, lp.hosts[0]!.ref);
  });
});
