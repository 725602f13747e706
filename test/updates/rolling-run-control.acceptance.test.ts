/**
 * A rolling pool update as a client follows and steers it, on a 2-host pool of real
 * processes (started with `islet pool up --update-key`) with a VM running on each host:
 *
 * - every host is prechecked before anything is touched: a disabled host refuses the run;
 * - the run's task shows progress and each host's status while it runs: a client watching
 *   `event.from` sees the task's `other_config` carry `host:<name>` → step, steps only ever
 *   moving forward, one host at a time (host0 done before host1 starts), progress growing to
 *   1; the master's own toolstack restart (the update asks for it) ends the first task, and
 *   the resumed run reports under a new one, which the run record names;
 * - a failure pauses the run with a clear error (xe says to resume or abort), a new rolling
 *   update refuses to start over the paused one, `xe pool-rolling-update-resume` finishes it
 *   once the cause is gone;
 * - `xe pool-rolling-update-abort` ends a paused run and enables the host it had disabled;
 *   the pool is then mixed, so a new run refuses to start unless forced, and a forced one
 *   finishes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { STEPS } from '../../src/updates/rolling/runner.js';
import { startPool, waitFor, type IsletPool } from '../helpers/islet-pool.js';
import { UpdateFixture } from './update-fixture.js';
import { twinUuid } from '../../src/updates/patch-records.js';
import { startRunningVm } from './pool-vms.js';
import { watchEvents } from '../helpers/watch-events.js';

type Rec = Record<string, any>;

interface Seen { at: number; ref: string; snapshot: Rec }

/**
 * Every task and run snapshot `event.from` delivers while `fn` runs, riding out master
 * restarts, up to the last change `fn` made (the watcher reads up to the generation current
 * when `fn` ended: stopping at once could drop a final answer that was already on its way).
 */
async function watchRun(pool: IsletPool, fn: () => Promise<void>): Promise<Seen[]> {
  const seen: Seen[] = [];
  const c = await pool.client();
  try {
    await watchEvents(c, ['task', 'islet_rolling_update'], (e) => {
      if (e.snapshot) seen.push({ at: Date.now(), ref: `${e.class}/${e.ref}`, snapshot: e.snapshot });
    }, fn, { client: () => pool.client() });
  } finally {
    c.close();
  }
  return seen;
}

describe('following and steering a rolling update', { timeout: 900_000 }, () => {
  let fx: UpdateFixture;
  let pool: IsletPool;
  let c: XapiClient;
  let conn: string[];
  const refs: string[] = [];
  const hostUuids: string[] = [];
  const vms: string[] = [];
  /** The update the second test could not roll out over its paused run; the third forces it. */
  let second = '';
  const failFlag = (i: number) => join(fx.work, `fail-${hostUuids[i]}`);

  const upload = async (u: { path: string; uuid: string }) => {
    const r = await fx.xe(['patch-upload', ...conn, `file-name=${u.path}`]);
    assert.equal(r.code, 0, r.err);
    return u.uuid;
  };
  /** An update with no restart whose apply hook fails on a host while its flag file exists. */
  const flaky = (name: string) => fx.custom({
    name, guidance: [],
    hooks: { apply: `#!/bin/sh\nif [ -e "${fx.work}/fail-$ISLET_HOST_UUID" ]; then echo "disk on fire on $ISLET_HOST_UUID"; exit 3; fi\nexit 0\n` },
  });
  const runs = async () => Object.entries((await c.call('islet_rolling_update.get_all_records')) as Record<string, Rec>);
  const runOf = async (uuid: string) => {
    const upd = await c.call('pool_update.get_by_uuid', twinUuid(uuid));
    return (await runs()).filter(([, r]) => r.update === upd);
  };

  before(async () => {
    fx = await UpdateFixture.create();
    pool = await startPool({ hosts: 2, memory: '4G', migrationRate: 2048, args: ['--update-key', fx.keyFile] });
    c = await pool.client();
    conn = ['-s', '127.0.0.1', '-p', String(new URL(pool.masterUrl).port), '-u', 'root', '-pw', pool.rootPassword];
    for (let i = 0; i < 2; i++) {
      refs.push(await pool.hostRef(i));
      hostUuids.push(String(await c.call('host.get_uuid', refs[i])));
    }
    const sr = String(await c.call('pool.get_default_SR', ((await c.call('pool.get_all')) as string[])[0]));
    for (let i = 0; i < 2; i++) vms.push(await startRunningVm(c, sr, `ctl-vm${i}`, refs[i]!));
  });
  after(async () => {
    c?.close();
    await pool?.stop();
    await fx?.close();
  });

  it('prechecks every host before touching anything: a disabled host refuses the run', async () => {
    const uuid = await upload(await fx.custom({ name: 'XS602E029', guidance: [] }));
    await c.call('host.disable', refs[1]);
    try {
      const r = await fx.xe(['pool-rolling-update', ...conn, `uuid=${uuid}`]);
      assert.equal(r.code, 1);
      assert.match(r.err, new RegExp(`The specified server is disabled.\\nhost: ${hostUuids[1]}|host: ${refs[1]}`));
      assert.equal((await runOf(uuid)).length, 0, 'no run was made');
      assert.deepEqual(await c.call('pool_update.get_hosts', await c.call('pool_update.get_by_uuid', twinUuid(uuid))), [], 'nothing applied');
      assert.equal(await c.call('host.get_enabled', refs[0]), true, 'the master was not touched');
    } finally {
      await c.call('host.enable', refs[1]);
    }
    await c.callAsync('pool_update.destroy', await c.call('pool_update.get_by_uuid', twinUuid(uuid)));
  });

  it('the task shows progress and per-host status while the run goes, under a new task after the master restarts', async () => {
    const uuid = await upload(await fx.custom({ name: 'XS602E030', guidance: ['restartXAPI'] }));
    const update = await c.call('pool_update.get_by_uuid', twinUuid(uuid));
    let first = '';
    const seen = await watchRun(pool, async () => {
      first = String(await c.call('Async.pool.islet_rolling_update', update, {}));
      c.close();
      const done = await waitFor(async () => {
        c = await pool.client();
        try {
          const [hit] = await runOf(uuid);
          if (hit?.[1].status === 'paused') throw new Error(`paused: ${hit[1].error_info}`);
          if (hit?.[1].status !== 'done') return undefined;
          // The run is marked done just before its task is completed: the checks below need both.
          return (await c.call('task.get_status', hit[1].task)) !== 'pending' ? hit : undefined;
        } finally {
          c.close();
        }
      }, 300_000, 'the run to finish', 500).catch((e) => { throw new Error(`${e}\n${pool.logs(0)}`); });
      assert.ok(done);
    });
    c = await pool.client();
    const [[runRef, run]] = await runOf(uuid) as [[string, Rec]];
    const reports = seen.filter((s) => s.ref.startsWith('task/') && s.snapshot.other_config?.['islet-rolling-update'] === run.uuid);
    const tasks = [...new Set(reports.map((s) => s.ref))];
    assert.ok(tasks.includes(`task/${first}`), 'the task the call returned reports the run');
    assert.ok(tasks.length >= 2, `the master's toolstack restart ends the first task; the resumed run reports under another (${tasks})`);
    const last = reports.filter((s) => s.ref === tasks.at(-1)).at(-1)!.snapshot;
    assert.equal(last.name_label, 'Async.pool.islet_rolling_update (resumed)');
    assert.equal(`task/${run.task}`, tasks.at(-1), 'the run record names the task reporting it');
    assert.equal(last.status, 'success');
    assert.equal(last.progress, 1);
    assert.deepEqual([last.other_config['host:host0'], last.other_config['host:host1']], ['done', 'done']);
    for (const t of tasks) {
      const ps = reports.filter((s) => s.ref === t).map((s) => Number(s.snapshot.progress));
      assert.deepEqual([...ps].sort((a, b) => a - b), ps, `progress of ${t} only grows: ${ps}`);
    }
    // Each host's steps, as seen across the tasks, only move forward.
    for (const h of ['host0', 'host1']) {
      const steps = reports.map((s) => s.snapshot.other_config[`host:${h}`] as string);
      const idx = steps.map((s) => STEPS.indexOf(s as (typeof STEPS)[number]));
      assert.ok(idx.every((i) => i >= 0), `known steps: ${steps}`);
      assert.deepEqual([...idx].sort((a, b) => a - b), idx, `${h} steps in order: ${steps}`);
    }
    // One host at a time: while host1 was under way, host0 was done; host0 was busy while host1 waited.
    const states = reports.map((s) => [s.snapshot.other_config['host:host0'], s.snapshot.other_config['host:host1']]);
    assert.ok(states.some(([a, b]) => a !== 'pending' && a !== 'done' && b === 'pending'), `host0 under way alone: ${JSON.stringify(states)}`);
    assert.ok(states.some(([a, b]) => a === 'done' && b !== 'pending' && b !== 'done'), `host1 under way after host0: ${JSON.stringify(states)}`);
    assert.ok(states.every(([a, b]) => b === 'pending' || a === 'done'), 'host1 never starts before host0 is done');
    // The pool database was saved before anything was touched, in a file pool-restore-database takes.
    assert.ok(existsSync(run.backup_file), run.backup_file);
    assert.ok(String(run.backup_file).startsWith(pool.hosts[0]!.dataDir));
    const dry = await fx.xe(['pool-restore-database', ...conn, `file-name=${run.backup_file}`, 'dry-run=true']);
    assert.equal(dry.code, 0, dry.err);
    // The run record told the same story.
    const recs = seen.filter((s) => s.ref === `islet_rolling_update/${runRef}`).map((s) => s.snapshot);
    assert.equal(recs.at(-1)!.status, 'done');
    assert.deepEqual(Object.values(recs.at(-1)!.host_states), ['done', 'done']);
  });

  it('a failure pauses the run with a clear error; a new run refuses to start over it; resume finishes it', async () => {
    const p = await upload(await flaky('XS602E031'));
    const q = await upload(await fx.custom({ name: 'XS602E032', guidance: [] }));
    second = q;
    await writeFile(failFlag(1), '');
    const r = await fx.xe(['pool-rolling-update', ...conn, `uuid=${p}`]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.err, /paused; fix the cause, then run pool-rolling-update-resume or pool-rolling-update-abort/);
    assert.match(r.err, /disk on fire/);
    const [[, run]] = await runOf(p) as [[string, Rec]];
    assert.equal(run.status, 'paused');
    assert.equal(run.error_info[0], 'UPDATE_APPLY_FAILED');
    assert.match(run.error_info[1], /disk on fire/);
    assert.deepEqual([run.host_states[refs[0]!], run.host_states[refs[1]!]], ['done', 'apply']);
    assert.equal(await c.call('host.get_enabled', refs[1]), false, 'the failed host stays out of service');
    for (const vm of vms) assert.equal(await c.call('VM.get_power_state', vm), 'Running');

    const refused = await fx.xe(['pool-rolling-update', ...conn, `uuid=${q}`]);
    assert.equal(refused.code, 1);
    assert.match(refused.err + refused.out, /paused half-way: resume or abort it, or start again with force=true/);
    assert.equal((await runOf(q)).length, 0, 'no run was made');

    await rm(failFlag(1));
    const resumed = await fx.xe(['pool-rolling-update-resume', ...conn]);
    assert.equal(resumed.code, 0, resumed.err);
    assert.match(resumed.out, /host1: done/);
    assert.match(resumed.out, /Rolling update finished/);
    assert.equal((await runOf(p))[0]![1].status, 'done');
    assert.equal(await c.call('host.get_enabled', refs[1]), true);
    for (const [i, vm] of vms.entries()) assert.equal(await c.call('VM.get_resident_on', vm), refs[i], 'VMs back home');
  });

  it('abort ends a paused run and enables its host; the mixed pool refuses a new run unless forced', async () => {
    const a = await upload(await flaky('XS602E033'));
    const q = second;
    await writeFile(failFlag(1), '');
    const r = await fx.xe(['pool-rolling-update', ...conn, `uuid=${a}`]);
    assert.equal(r.code, 1);
    assert.equal(await c.call('host.get_enabled', refs[1]), false);
    const ab = await fx.xe(['pool-rolling-update-abort', ...conn]);
    assert.equal(ab.code, 0, ab.err);
    assert.equal((await runOf(a))[0]![1].status, 'aborted');
    assert.equal(await c.call('host.get_enabled', refs[1]), true, 'abort enables the host it had disabled');
    await rm(failFlag(1));

    const pl = Object.values((await c.call('pool.get_all_records')) as Record<string, Rec>)[0]!;
    assert.equal(pl.islet_mixed_state, true, 'host0 has the update, host1 not');
    const refused = await fx.xe(['pool-rolling-update', ...conn, `uuid=${q}`]);
    assert.equal(refused.code, 1);
    assert.match(refused.err + refused.out, /mixed state/);
    const forced = await fx.xe(['pool-rolling-update', ...conn, `uuid=${q}`, '--force']);
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.out, /Rolling update finished/);
    const pp = (await c.call('pool_patch.get_record', await c.call('pool_patch.get_by_uuid', q))) as Rec;
    assert.equal(pp.pool_applied, true);
    for (const vm of vms) assert.equal(await c.call('VM.get_power_state', vm), 'Running');
  });
});
