/**
 * @module
 * Crash trials of a rolling pool update: a pool of real hosts (toolstack and hypervisor
 * simulator each, under `islet pool up`) with a running VM per host rolls out a signed
 * update, and the master's toolstack dies by SIGKILL in the middle, either when a chosen
 * host reaches a chosen step of the run (disable, evacuate, apply, restart, wait, enable,
 * return) or after a random time. The supervisor starts the master again on its data;
 * then the run must end by itself, either done (every host `done`, the update applied on
 * every host, every host enabled) or paused with `error_info` saying why, never stuck
 * running; no VM may be lost or stopped, and no task may stay pending.
 */
import { XapiClient } from '../../src/client/xapi-client.js';
import { twinUuid } from '../../src/updates/patch-records.js';
import { startPool, waitFor, type IsletPool } from '../../test/helpers/islet-pool.js';
import { startRunningVm } from '../../test/updates/pool-vms.js';
import { UpdateFixture } from '../../test/updates/update-fixture.js';
import type { Rng } from './rng.js';

type Rec = Record<string, any>;

/** Steps a host passes through in a run, in order (runner.ts), where a kill may land. */
const STEPS = ['disable', 'evacuate', 'apply', 'restart', 'wait', 'enable', 'return'] as const;
const HOSTS = 2;
/** How long a resumed run may take to end after the master is back. */
const END_MS = 300_000;

export interface RollingTrialsResult {
  failures: string[];
  failedTrials: number;
  summary: string;
}

/** Asks the master, logging in again when its restart ended the session. */
function asker(pool: IsletPool, first: XapiClient): { ask: <T>(fn: (c: XapiClient) => Promise<T>) => Promise<T>; close: () => void } {
  let c = first;
  return {
    ask: async (fn) => {
      try {
        return await fn(c);
      } catch (e) {
        c.close();
        c = await pool.client().catch(() => c);
        throw e;
      }
    },
    close: () => c.close(),
  };
}

export async function rollingTrials(n: number, rng: Rng, progress = false): Promise<RollingTrialsResult> {
  const failures: string[] = [];
  let failedTrials = 0;
  const outcomes = new Map<string, number>();
  const updates = await UpdateFixture.create();
  try {
    for (let t = 0; t < n; t++) {
      const byStep = rng.next() < 0.6;
      const host = rng.int(HOSTS);
      const step = rng.pick(STEPS);
      const delay = 200 + rng.int(6000);
      const guidance = rng.next() < 0.5 ? 'restartXAPI' : 'restartHost';
      const label = `rolling trial ${t} (${guidance}): kill -9 of the master's toolstack ${byStep ? `when host${host} reaches ${step}` : `${delay} ms into the run`}`;
      const before = failures.length;
      const fail = (m: string) => failures.push(`${label}: ${m}`);
      let pool: IsletPool | undefined;
      let master: ReturnType<typeof asker> | undefined;
      try {
        pool = await startPool({ hosts: HOSTS, memory: '4G', migrationRate: 2048, args: ['--update-key', updates.keyFile] });
        const c = await pool.client();
        master = asker(pool, c);
        const refs: string[] = [];
        for (let i = 0; i < HOSTS; i++) refs.push(await pool.hostRef(i));
        const sr = String(await c.call('pool.get_default_SR', ((await c.call('pool.get_all')) as string[])[0]));
        const vms: string[] = [];
        for (let i = 0; i < HOSTS; i++) vms.push(await startRunningVm(c, sr, `rolling-crash-${t}-vm${i}`, refs[i]!));
        const name = `XSCRASH${String(t).padStart(3, '0')}`;
        const u = await updates.custom({ name, guidance: [guidance] });
        await c.putFile('/pool_patch_upload', {}, { path: u.path });
        const update = String(await c.call('pool_update.get_by_uuid', twinUuid(u.uuid)));
        await c.call('Async.pool.islet_rolling_update', update, {});
        const run = String(await waitFor(async () => Object.entries((await c.call('islet_rolling_update.get_all_records')) as Record<string, Rec>)
          .find(([, r]) => r.update === update)?.[0], 60_000, 'the run record'));
        // The kill point: a host at a step (or the run over before it got there), or a time.
        if (byStep) {
          const stepAt = STEPS.indexOf(step);
          await waitFor(() => master!.ask(async (cl) => {
            const r = (await cl.call('islet_rolling_update.get_record', run)) as Rec;
            if (r.status !== 'running') return true;
            const at = String(r.host_states[refs[host]!] ?? 'pending');
            return at === 'done' || at === 'skipped' || STEPS.indexOf(at as (typeof STEPS)[number]) >= stepAt;
          }), END_MS, `host${host} at ${step}`, 50);
        } else {
          await new Promise((r) => setTimeout(r, delay));
        }
        const statusAtKill = await master.ask(async (cl) => String(((await cl.call('islet_rolling_update.get_record', run)) as Rec).status)).catch(() => 'unknown (master restarting)');
        await pool.kill9Toolstack(0);
        // The supervisor starts the master again; the run must then end by itself.
        const end = await waitFor(() => master!.ask(async (cl) => {
          const r = (await cl.call('islet_rolling_update.get_record', run)) as Rec;
          return r.status === 'running' ? undefined : r;
        }), END_MS, 'the run to end after the master came back', 500);
        const outcome = `${end.status}${statusAtKill === 'running' ? '' : ` (${statusAtKill} at the kill)`}`;
        outcomes.set(end.status, (outcomes.get(end.status) ?? 0) + 1);
        const pool2 = pool;
        await master.ask(async (cl) => {
          if (end.status === 'done') {
            const states = Object.values(end.host_states as Record<string, string>);
            if (states.length !== HOSTS || states.some((s) => s !== 'done')) fail(`done, but host states ${JSON.stringify(end.host_states)}`);
            const pp = (await cl.call('pool_patch.get_record', await cl.call('pool_patch.get_by_uuid', u.uuid))) as Rec;
            const applied = await Promise.all((pp.host_patches as string[]).map(async (hp) => (await cl.call('host_patch.get_applied', hp)) === true));
            if (applied.length !== HOSTS || applied.includes(false)) fail(`done, but the update is applied on ${applied.filter(Boolean).length} of ${HOSTS} hosts`);
            for (const [i, r] of refs.entries()) {
              await waitFor(async () => (await cl.call('host.get_enabled', r)) === true, 60_000, `host${i} enabled`).catch((e: Error) => fail(e.message));
            }
          } else if (!(end.error_info as string[]).length) {
            fail(`the run ended ${end.status} without saying why (host states ${JSON.stringify(end.host_states)})`);
          }
          // No VM lost, none stopped.
          const all = new Set((await cl.call('VM.get_all')) as string[]);
          for (const vm of vms) {
            if (!all.has(vm)) { fail(`VM ${vm} is gone`); continue; }
            const state = await waitFor(async () => {
              const s = String(await cl.call('VM.get_power_state', vm));
              return s === 'Running' ? s : undefined;
            }, 60_000, `VM ${vm} running`).catch(async () => String(await cl.call('VM.get_power_state', vm)));
            if (state !== 'Running') fail(`VM ${vm} is ${state}`);
          }
          // No task left pending.
          const pending = await waitFor(async () => {
            const tasks = (await cl.call('task.get_all_records')) as Record<string, Rec>;
            const left = Object.values(tasks).filter((x) => x.status === 'pending').map((x) => String(x.name_label));
            return left.length === 0 ? [] : undefined;
          }, 30_000, 'no pending task').catch(async () => Object.values((await cl.call('task.get_all_records')) as Record<string, Rec>)
            .filter((x) => x.status === 'pending').map((x) => String(x.name_label)));
          if (pending.length) fail(`tasks stuck pending: ${pending.join(', ')}`);
        }).catch((e: Error) => fail(`checking after recovery: ${e.message}\n${pool2.logs(0).slice(-2000)}`));
        if (progress) process.stderr.write(`${label}: ${outcome}: ${failures.length > before ? `FAILED ${failures.slice(before).join('; ')}` : 'ok'}\n`);
      } catch (e) {
        fail(`${(e as Error).message}${pool ? `\n${pool.logs(0).slice(-2000)}` : ''}`);
        if (progress) process.stderr.write(`${label}: FAILED ${(e as Error).message}\n`);
      } finally {
        master?.close();
        await pool?.stop().catch(() => undefined);
      }
      if (failures.length > before) failedTrials++;
    }
  } finally {
    await updates.close();
  }
  return { failures, failedTrials, summary: `run ended: ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}` };
}
