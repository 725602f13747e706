/**
 * @module
 * The master's clock for protection policies: each tick runs the enabled policies whose
 * backup (or archive) time came since the tick before. Times are the server's local time,
 * as the policy's schedule says: hourly at `min`, daily at `hour:min`, weekly on each of
 * `days` at `hour:min`. The clock is given, so that tests move it instead of waiting; a
 * run missed while the toolstack was down is not made up for.
 */
import type { ActionContext } from '../../core/action-context.js';
import type { Ref } from '../../core/ref.js';
import { WEEK_DAYS } from './vmpp-rules.js';
import { archiveScheduled, protectNow } from './vmpp-protect.js';

type Schedule = Record<string, string>;

/** The latest scheduled instant at or before `now`, or undefined for a frequency with no schedule. */
export function lastScheduledAt(frequency: string, schedule: Schedule, now: Date): Date | undefined {
  const min = Number(schedule.min ?? 0);
  const hour = Number(schedule.hour ?? 0);
  if (frequency === 'hourly') {
    const at = new Date(now.getFullYear(), now.getMonth(), now.getDate(), now.getHours(), min);
    if (at > now) at.setHours(at.getHours() - 1);
    return at;
  }
  if (frequency !== 'daily' && frequency !== 'weekly') return undefined;
  const days = frequency === 'weekly'
    ? new Set(String(schedule.days ?? 'Monday').split(',').map((d) => d.trim().toLowerCase()))
    : undefined;
  // Back from today until a day of the schedule whose time has come (at most a week).
  for (let back = 0; back <= 7; back++) {
    const at = new Date(now.getFullYear(), now.getMonth(), now.getDate() - back, hour, min);
    // getDay: 0 is Sunday; WEEK_DAYS starts on Monday.
    const dayName = WEEK_DAYS[(at.getDay() + 6) % 7]!.toLowerCase();
    if (at <= now && (!days || days.has(dayName))) return at;
  }
  return undefined;
}

/** Whether a scheduled instant fell in (since, now]. */
export function isDue(frequency: string, schedule: Schedule, since: Date, now: Date): boolean {
  const at = lastScheduledAt(frequency, schedule, now);
  return at !== undefined && at > since;
}

export interface VmppSchedulerOptions {
  /** The context the runs are made with (the master's services, no caller session). */
  readonly context: () => ActionContext;
  readonly now: () => Date;
  readonly log?: (line: string) => void;
}

/** Ticks on demand; `startVmppScheduler` ticks it every minute on the master. */
export class VmppScheduler {
  #since: Date;
  readonly #o: VmppSchedulerOptions;

  constructor(o: VmppSchedulerOptions) {
    this.#o = o;
    this.#since = o.now();
  }

  /** Lets time pass without running anything (on a host that is not the master). */
  skip(): void {
    this.#since = this.#o.now();
  }

  /** Runs what became due since the last tick; returns the policies it protected. */
  async tick(): Promise<Ref<'VMPP'>[]> {
    const now = this.#o.now();
    const since = this.#since;
    this.#since = now;
    const ctx = this.#o.context();
    const ran: Ref<'VMPP'>[] = [];
    for (const [ref, p] of ctx.db.all('VMPP')) {
      if (p.is_policy_enabled !== true) continue;
      const policy = ref as Ref<'VMPP'>;
      try {
        if (isDue(String(p.backup_frequency), p.backup_schedule ?? {}, since, now)) {
          ran.push(policy);
          await protectNow(ctx, policy);
        }
        if (isDue(String(p.archive_frequency), p.archive_schedule ?? {}, since, now)) await archiveScheduled(ctx, policy);
      } catch (e) {
        this.#o.log?.(`VMPP ${String(p.uuid)}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return ran;
  }
}

/** Ticks the scheduler every `intervalMs` while `isMaster()`, until `signal` aborts. */
export function startVmppScheduler(o: VmppSchedulerOptions & { isMaster: () => boolean; signal: AbortSignal; intervalMs?: number }): VmppScheduler {
  const scheduler = new VmppScheduler(o);
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    if (!o.isMaster()) return scheduler.skip();
    busy = true;
    void scheduler.tick().finally(() => { busy = false; });
  }, o.intervalMs ?? 60_000);
  timer.unref();
  o.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  return scheduler;
}
