/**
 * @module
 * `pool.islet_rolling_update` and its resume and abort: the checks before a run (nothing
 * half-done unless forced, every host live, hosts to visit enabled with their storage
 * plugged and able to evacuate, the update's precheck passing on each), the backup of the
 * pool database, the run record, and the runner driven over the XenAPI ports. A failure
 * pauses the run (status `paused`, `error_info` saying why); `resume` continues from the
 * failed step, `abort` ends it and enables the host it had disabled. A run still `running`
 * when the master starts (its own restart is part of every run) is resumed at once, under a
 * new task.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Services } from '../../core/action-context.js';
import type { TaskHandle } from '../../core/ports/tasks.js';
import { ApiError } from '../../core/api-error.js';
import { toWireError } from '../../core/wire-errors.js';
import type { PoolDb } from '../../core/ports/pool-db.js';
import { NULL_REF, newRef, newUuid, xapiDate, type Ref } from '../../core/ref.js';
import { appliedOn, updateUuidOf } from '../patch-records.js';
import { precheck } from '../patch-service.js';
import { updateEnv } from '../update-env.js';
import { hostStateOf, poolIsMixed } from '../update-state.js';
import { DEFAULT_RATES, type HostSnapshot, type Plan, RestartKind, makePlan, renderPlan } from './plan.js';
import { RollingRunner, RunAborted, runProgress, type RunState } from './runner.js';
import { dbHostInfo, runningVmsOn, xapiPorts } from './xapi-ports.js';

const CLS = 'islet_rolling_update';
type RunRef = Ref<'islet_rolling_update'>;

export interface RunOptions {
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly restart?: RestartKind;
  readonly evacuate: boolean;
  readonly batch: number;
  readonly waitTimeoutMs: number;
}

export function parseRunOptions(o: Record<string, string>): RunOptions {
  const bool = (k: string) => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false') throw new ApiError('INVALID_VALUE', [k, v]);
    return v === 'true';
  };
  const known = new Set(['dry_run', 'force', 'restart', 'evacuate', 'batch', 'wait_timeout']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new ApiError('INVALID_VALUE', ['options', k]);
  const restart = o.restart;
  if (restart !== undefined && !(restart in RestartKind)) throw new ApiError('INVALID_VALUE', ['restart', restart]);
  const batch = o.batch === undefined ? 3 : Number(o.batch);
  if (!Number.isInteger(batch) || batch < 1) throw new ApiError('INVALID_VALUE', ['batch', String(o.batch)]);
  const wait = o.wait_timeout === undefined ? 1200 : Number(o.wait_timeout);
  if (!(wait > 0)) throw new ApiError('INVALID_VALUE', ['wait_timeout', String(o.wait_timeout)]);
  return {
    dryRun: bool('dry_run') ?? false, force: bool('force') ?? false, evacuate: bool('evacuate') ?? true,
    batch, waitTimeoutMs: wait * 1000, ...(restart ? { restart: restart as RestartKind } : {}),
  };
}

function poolRef(db: PoolDb): Ref<'pool'> {
  return db.all('pool')[0]![0];
}

function snapshot(db: PoolDb, update: Ref<'pool_update'>): HostSnapshot[] {
  const uuid = String(updateUuidOf(db, update));
  const master = db.get('pool', poolRef(db))!.master;
  return db.all('host').map(([ref, h]) => {
    const info = dbHostInfo(db, ref);
    const st = hostStateOf(db, ref);
    const applied = appliedOn(db, ref).has(uuid);
    return {
      ref, name: String(h.name_label), uuid: String(h.uuid), isMaster: ref === master,
      live: info.live, enabled: info.enabled, applied,
      // Pending guidance counts for this update only while it is not yet in effect.
      pending: applied && st && !st.effective.includes(uuid) ? st.pending : [],
      vmMemory: runningVmsOn(db, ref).map((v) => v.memory),
    };
  });
}

function rates(db: PoolDb): typeof DEFAULT_RATES {
  const oc = (db.get('pool', poolRef(db))?.other_config ?? {}) as Record<string, string>;
  const r = Number(oc['islet-migration-rate']);
  return r > 0 ? { ...DEFAULT_RATES, migrationBytesPerSecond: r } : DEFAULT_RATES;
}

export function planFor(db: PoolDb, update: Ref<'pool_update'>, o: RunOptions): Plan {
  const pu = db.get('pool_update', update);
  if (!pu) throw new ApiError('HANDLE_INVALID', ['pool_update', update]);
  return makePlan(snapshot(db, update), pu.after_apply_guidance as string[], {
    ...(o.restart ? { restart: o.restart } : {}), evacuate: o.evacuate, batch: o.batch,
  }, rates(db));
}

function runs(db: PoolDb): Array<[RunRef, Record<string, unknown>]> {
  return db.all(CLS) as Array<[RunRef, Record<string, unknown>]>;
}

/** Refusals before anything is touched. */
async function checkBeforeRun(s: Services, update: Ref<'pool_update'>, plan: Plan, o: RunOptions): Promise<void> {
  const db = s.db;
  for (const [ref, r] of runs(db)) {
    if (r.status === 'running') throw new ApiError('OTHER_OPERATION_IN_PROGRESS', ['pool', poolRef(db), 'islet_rolling_update', ref]);
    if (r.status === 'paused' && !o.force) {
      throw new ApiError('OPERATION_NOT_ALLOWED', [`rolling update ${String(r.uuid)} is paused half-way: resume or abort it, or start again with force=true`]);
    }
  }
  if (poolIsMixed(db) && !o.force) {
    throw new ApiError('OPERATION_NOT_ALLOWED', ['the pool is in a mixed state (its hosts differ in applied updates): finish the update under way, or start with force=true']);
  }
  for (const [ref] of db.all('host')) {
    if (!dbHostInfo(db, ref).live) throw new ApiError('HOST_OFFLINE', [ref]);
  }
  // Every host's own state first (as XenCenter's liveness checks come first): a disabled host
  // is named as such, not reported as the reason another host cannot be evacuated.
  for (const h of plan.hosts) {
    if (!dbHostInfo(db, h.ref).enabled) throw new ApiError('HOST_DISABLED', [h.ref]);
    for (const [, pbd] of db.all('PBD')) {
      if (pbd.host === h.ref && pbd.currently_attached !== true) throw new ApiError('SR_NOT_ATTACHED', [String(pbd.SR)]);
    }
  }
  for (const h of plan.hosts) {
    if (plan.evacuate && runningVmsOn(db, h.ref).length && s.updates) {
      await s.updates.call('host.assert_can_evacuate', [h.ref]).catch((e: unknown) => {
        const err = toWireError(e);
        if (err.code === 'MESSAGE_METHOD_UNKNOWN') return;
        throw err.code === 'CANNOT_EVACUATE_HOST' ? err : new ApiError('CANNOT_EVACUATE_HOST', [err.toWire().join(' ')]);
      });
    }
    if (h.install) await precheck(updateEnv(s), 'update', update, h.ref);
  }
}

async function backup(s: Services, uuid: string): Promise<string> {
  const dir = join(s.dataDir, 'backups');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `pool-database-${stamp}-before-rolling-update-${uuid}.json`);
  await writeFile(file, s.db.dumpJson(), { mode: 0o600 });
  return file;
}

/** The step log with an entry for each host whose step changed since the record was written. */
function extendStepLog(db: PoolDb, run: RunRef, st: RunState): string[] {
  const row = db.get(CLS, run);
  const log = [...((row?.step_log ?? []) as string[])];
  const before = (row?.host_states ?? {}) as Record<string, string>;
  for (const h of st.hosts) {
    if (before[h.host] === h.step || h.step === 'pending' || h.step === 'skipped') continue;
    log.push(`${log.length + 1} ${h.host} ${h.step}`);
  }
  return log;
}

function saveRun(db: PoolDb, run: RunRef, st: RunState, extra: Record<string, unknown> = {}): void {
  const cur = st.hosts.find((h) => h.step !== 'done' && h.step !== 'skipped' && h.step !== 'pending');
  db.update(CLS, run, {
    state: JSON.stringify(st),
    step_log: extendStepLog(db, run, st),
    host_states: Object.fromEntries(st.hosts.map((h) => [h.host, h.step])),
    current_host: cur?.host ?? NULL_REF,
    ...extra,
  });
}

interface Tracker {
  readonly ref: string;
  setProgress(f: number): void;
}

/** Drives a run to its end, pause or abort; the record says which. */
async function drive(s: Services, run: RunRef, task: Tracker | undefined): Promise<void> {
  const u = s.updates;
  if (!u) throw new ApiError('NOT_IMPLEMENTED', ['rolling updates need the updates service']);
  const db = s.db;
  const row = db.get(CLS, run)!;
  const st = JSON.parse(String(row.state)) as RunState;
  if (u.activeRuns.has(run)) throw new ApiError('OTHER_OPERATION_IN_PROGRESS', [CLS, run, 'run', String(row.task)]);
  const ac = new AbortController();
  u.activeRuns.set(run, ac);
  const names = new Map(db.all('host').map(([r, h]) => [r, String(h.name_label)]));
  const report = (x: RunState) => {
    if (!task) return;
    task.setProgress(runProgress(x));
    const t = db.get('task', task.ref);
    if (t) {
      const perHost = Object.fromEntries(x.hosts.map((h) => [`host:${names.get(h.host) ?? h.host}`, h.step]));
      db.update('task', task.ref, { other_config: { ...(t.other_config as Record<string, string>), 'islet-rolling-update': String(row.uuid), ...perHost } });
    }
  };
  db.update(CLS, run, { status: 'running', error_info: [], task: task?.ref ?? NULL_REF });
  const runner = new RollingRunner(st, xapiPorts({
    env: updateEnv(s), call: (m, p) => u.call(m, p), update: row.update,
    save: (x) => { saveRun(db, run, x); report(x); }, log: (m) => u.log(m),
  }), ac.signal);
  report(st);
  try {
    await runner.run();
    saveRun(db, run, st, { status: 'done', finished: xapiDate(), current_host: NULL_REF });
    u.log(`rolling update ${String(row.uuid)} finished`);
  } catch (e) {
    if (e instanceof RunAborted) {
      await finishAbort(s, run, st);
      throw new ApiError('TASK_CANCELLED', [task?.ref ?? run]);
    }
    const err = toWireError(e);
    u.log(`rolling update ${String(row.uuid)} paused: ${err.message}`);
    if (db.get(CLS, run)) saveRun(db, run, st, { status: 'paused', error_info: err.toWire() });
    throw err;
  } finally {
    u.activeRuns.delete(run);
  }
}

/** Ends a run for good; a host it disabled (between disable and enable) is enabled again. */
async function finishAbort(s: Services, run: RunRef, st: RunState): Promise<void> {
  for (const h of st.hosts) {
    if (['disable', 'pending', 'done', 'skipped'].includes(h.step)) continue;
    await s.updates?.call('host.enable', [h.host]).catch(() => undefined);
  }
  saveRun(s.db, run, st, { status: 'aborted', finished: xapiDate(), current_host: NULL_REF });
}

export async function startRollingUpdate(s: Services, update: Ref<'pool_update'>, options: Record<string, string>, task?: TaskHandle): Promise<string> {
  const o = parseRunOptions(options);
  const db = s.db;
  const pu = db.get('pool_update', update);
  if (!pu) throw new ApiError('HANDLE_INVALID', ['pool_update', update]);
  const plan = planFor(db, update, o);
  if (o.dryRun) return renderPlan(plan, String(pu.name_label));
  await checkBeforeRun(s, update, plan, o);
  if (o.force) for (const [ref, r] of runs(db)) if (r.status === 'paused') db.update(CLS, ref, { status: 'aborted', finished: xapiDate() });
  const file = await backup(s, String(pu.uuid));
  const planned = new Set(plan.hosts.map((h) => h.ref));
  const order = [...plan.hosts.map((h) => h.ref), ...plan.skipped.map((h) => h.ref)];
  const st: RunState = {
    restart: plan.restart, evacuate: plan.evacuate, batch: plan.batch, waitTimeoutMs: o.waitTimeoutMs, vmHomes: {},
    hosts: order.map((h) => ({ host: h, name: String(db.get('host', h)?.name_label ?? h), step: planned.has(h) ? 'pending' : 'skipped' })),
  };
  const run = newRef<'islet_rolling_update'>();
  db.create(CLS, run, {
    uuid: newUuid(), update, status: 'running', options, hosts: order,
    host_states: Object.fromEntries(st.hosts.map((h) => [h.host, h.step])),
    backup_file: file, created: xapiDate(), state: JSON.stringify(st), task: task?.ref ?? NULL_REF,
  });
  s.updates?.log(`rolling update ${String(pu.name_label)} started (run ${run}); database saved to ${file}`);
  await drive(s, run, task);
  return run;
}

export async function resumeRollingUpdate(s: Services, run: RunRef, task?: TaskHandle): Promise<void> {
  const r = s.db.get(CLS, run);
  if (!r) throw new ApiError('HANDLE_INVALID', [CLS, run]);
  if (r.status !== 'paused' && !(r.status === 'running' && !s.updates?.activeRuns.has(run))) {
    throw new ApiError('OPERATION_NOT_ALLOWED', [`rolling update ${String(r.uuid)} is ${String(r.status)}, not paused`]);
  }
  await drive(s, run, task);
}

export async function abortRollingUpdate(s: Services, run: RunRef): Promise<void> {
  const r = s.db.get(CLS, run);
  if (!r) throw new ApiError('HANDLE_INVALID', [CLS, run]);
  if (r.status === 'done' || r.status === 'aborted') return;
  const live = s.updates?.activeRuns.get(run);
  if (live) {
    live.abort();
    // The runner stops at its next step boundary and records the abort itself.
    for (let i = 0; i < 600 && s.updates?.activeRuns.has(run); i++) await new Promise((x) => setTimeout(x, 100));
    return;
  }
  await finishAbort(s, run, JSON.parse(String(r.state)) as RunState);
}

/** On the master at start-up: runs left `running` carry on, each under a new task. */
export function resumeRunsAtStart(s: Services): void {
  const u = s.updates;
  if (!u) return;
  for (const [ref, r] of runs(s.db)) {
    if (r.status !== 'running' || u.activeRuns.has(ref)) continue;
    const t = u.createTask('Async.pool.islet_rolling_update (resumed)');
    u.log(`resuming rolling update ${String(r.uuid)}`);
    drive(s, ref, t).then(
      () => t.succeed(`<value>${ref}</value>`),
      (e) => { const err = toWireError(e); t.fail(err.code, err.params); },
    );
  }
}

