/**
 * @module
 * `xe pool-rolling-update uuid=<update or patch> [--dry-run] [--force] [restart=host|toolstack|none]
 * [evacuate=false] [batch=N]`, `xe pool-rolling-update-resume [uuid=<run>]` and
 * `xe pool-rolling-update-abort [uuid=<run>]`. A dry run prints the plan. Otherwise xe
 * follows the run record through `event.from`, printing each host's steps as they happen
 * (from the run's step log, so none is missed across a reconnect or a batch of events),
 * and rides out the master's own restart (part of every run): when the connection drops or
 * the session dies it logs in again and carries on watching, until the run is done (exit
 * 0), paused by a failure (its error, exit 1) or aborted.
 */
import { getBoolParam, getParam } from '../argv.js';
import { RecordFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { XapiCallError } from '../../client/xapi-call-error.js';

type Rec = Record<string, unknown>;
const CLS = 'islet_rolling_update';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long one `event.from` waits for a change of the run before xe looks anyway. */
const EVENT_WAIT_S = 5;

/** A call that survives the master restarting under it: re-login and retry for up to `ms`. */
async function patient<T>(ctx: CommandContext, fn: () => Promise<T>, ms = 30 * 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      const lost = e instanceof XapiCallError ? e.code === 'SESSION_INVALID' || e.code === 'HOST_IS_SLAVE' : !(e instanceof RecordFailure);
      if (!lost || Date.now() > end) throw e;
      await sleep(1000);
      await ctx.client.login(ctx.conn.username, ctx.conn.password, { version: '1.1', originator: 'cli' }).catch(() => undefined);
    }
  }
}

async function findRun(ctx: CommandContext, pred: (r: Rec) => boolean): Promise<[string, Rec] | undefined> {
  const all = (await ctx.call(`${CLS}.get_all_records`)) as Record<string, Rec>;
  return Object.entries(all).find(([, r]) => pred(r));
}

async function names(ctx: CommandContext): Promise<Map<string, string>> {
  const hosts = (await ctx.call('host.get_all_records')) as Record<string, Rec>;
  return new Map(Object.entries(hosts).map(([ref, h]) => [ref, String(h.name_label)]));
}

interface EventBatch {
  token: string;
  events: Array<{ ref: string; operation: string; snapshot?: Rec }>;
}

/**
 * The run's record as soon as it changes (or after `EVENT_WAIT_S`), through `event.from`,
 * so that steps shorter than a polling interval still show. After the master restarts
 * the old token means nothing: start again from a fresh one.
 */
async function nextState(ctx: CommandContext, run: string, cursor: { token: string }): Promise<Rec> {
  try {
    const batch = (await ctx.call('event.from', [CLS], cursor.token, EVENT_WAIT_S)) as EventBatch;
    cursor.token = batch.token;
    const mine = batch.events.filter((e) => e.ref === run && e.snapshot);
    if (mine.length) return mine[mine.length - 1]!.snapshot!;
  } catch {
    cursor.token = '';
  }
  return patient(ctx, () => ctx.call(`${CLS}.get_record`, run) as Promise<Rec>);
}

/** Follows a run until it ends; prints step changes; throws the error of a paused run. */
async function follow(ctx: CommandContext, run: string): Promise<void> {
  const hostNames = await patient(ctx, () => names(ctx));
  const seen = new Map<string, string>();
  let printed = 0;
  const cursor = { token: '' };
  let r = await patient(ctx, () => ctx.call(`${CLS}.get_record`, run) as Promise<Rec>);
  for (;;) {
    if (Array.isArray(r.step_log)) {
      // Every step the run has entered, in order, however long xe looked away.
      const log = r.step_log as string[];
      for (; printed < log.length; printed++) {
        const [, h = '', step = ''] = log[printed]!.split(' ');
        ctx.printer.msg(`${hostNames.get(h) ?? h}: ${step}`);
      }
    } else {
      for (const [h, step] of Object.entries((r.host_states ?? {}) as Record<string, string>)) {
        if (seen.get(h) === step) continue;
        seen.set(h, step);
        if (step !== 'pending' && step !== 'skipped') ctx.printer.msg(`${hostNames.get(h) ?? h}: ${step}`);
      }
    }
    if (r.status === 'done') {
      ctx.printer.msg(`Rolling update finished (${String(r.uuid)}).`);
      return;
    }
    if (r.status === 'aborted') throw new RecordFailure(`Rolling update ${String(r.uuid)} was aborted.`);
    if (r.status === 'paused') {
      ctx.printer.stderr(`Rolling update ${String(r.uuid)} paused; fix the cause, then run pool-rolling-update-resume or pool-rolling-update-abort.`);
      throw XapiCallError.fromList((r.error_info ?? []) as unknown[]);
    }
    r = await nextState(ctx, run, cursor);
  }
}

/** Waits for the run a task started to appear (or the task to fail before it does). */
async function runOfTask(ctx: CommandContext, task: string): Promise<string> {
  for (;;) {
    const hit = await findRun(ctx, (r) => r.task === task);
    if (hit) return hit[0];
    const t = (await ctx.call('task.get_record', task)) as Rec;
    if (t.status === 'failure') throw XapiCallError.fromList((t.error_info ?? []) as unknown[]);
    if (t.status === 'success') {
      const again = await findRun(ctx, (r) => r.task === task);
      if (again) return again[0];
    }
    await sleep(200);
  }
}

/**
 * The pool_update named by `uuid=`: the update's own uuid, or (as `xe patch-upload` prints
 * it) its pool_patch's, whose twin it then takes.
 */
async function updateNamed(ctx: CommandContext, uuid: string | undefined): Promise<unknown> {
  try {
    return await ctx.call('pool_update.get_by_uuid', uuid);
  } catch (e) {
    if (!(e instanceof XapiCallError) || e.code !== 'UUID_INVALID') throw e;
    const patch = await ctx.call('pool_patch.get_by_uuid', uuid).catch(() => undefined);
    if (patch === undefined) throw e;
    return ctx.call('pool_patch.get_pool_update', patch);
  }
}

export const rollingUpdate: CommandModule = {
  run: async (ctx) => {
    const update = await updateNamed(ctx, getParam(ctx.params, 'uuid'));
    const opts: Record<string, string> = {};
    if (getBoolParam(ctx.params, 'dry-run')) opts.dry_run = 'true';
    if (getBoolParam(ctx.params, 'force')) opts.force = 'true';
    for (const k of ['restart', 'evacuate', 'batch', 'wait-timeout']) {
      const v = getParam(ctx.params, k);
      if (v !== undefined) opts[k.replace('-', '_')] = v;
    }
    if (opts.dry_run) {
      ctx.printer.msg(String(await ctx.client.callAsync('pool.islet_rolling_update', update, opts)).replace(/\n$/, ''));
      return;
    }
    const task = String(await ctx.call('Async.pool.islet_rolling_update', update, opts));
    await follow(ctx, await runOfTask(ctx, task));
  },
};

async function chosenRun(ctx: CommandContext): Promise<string> {
  const uuid = getParam(ctx.params, 'uuid');
  if (uuid) return String(await ctx.call(`${CLS}.get_by_uuid`, uuid));
  const hit = await findRun(ctx, (r) => r.status === 'paused' || r.status === 'running');
  if (!hit) throw new RecordFailure('No rolling update is paused or running.');
  return hit[0];
}

export const rollingUpdateResume: CommandModule = {
  run: async (ctx) => {
    const run = await chosenRun(ctx);
    await ctx.call('Async.pool.islet_rolling_update_resume', run);
    await follow(ctx, run);
  },
};

export const rollingUpdateAbort: CommandModule = {
  run: async (ctx) => {
    await ctx.client.callAsync('pool.islet_rolling_update_abort', await chosenRun(ctx));
  },
};
