/**
 * @module
 * A task made on the master whose work runs on a pool member: a client made it there and
 * then sent the transfer to the member holding the disk. The member runs the work under a
 * task of its own (tasks are each host's, in memory) and, before it starts, tells the master
 * which one (`task.islet_forwarded`); the master keeps that on the task row, hidden from
 * clients, so that it goes with the task. `task.cancel` of such a task passes the cancel on
 * to the member's task, as xapi forwards a cancel to the host a task was forwarded to: the
 * master's task reads `cancelling` until the member, its work stopped and undone, reports it
 * `cancelled`. A member that cannot be reached, or no longer has its task, cannot be told;
 * the task then ends here, and what the member reports later is refused (an ended task keeps
 * its outcome).
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import { isNullRef, type Ref } from '../../core/ref.js';
import type { RecordOf } from '../../core/record-of.js';

/** A status after which a task's outcome is final. */
export const ENDED: ReadonlySet<string> = new Set(['success', 'failure', 'cancelled']);

export function mustTask(ctx: ActionContext, ref: unknown): RecordOf<'task'> {
  const row = typeof ref === 'string' ? ctx.db.get('task', ref) : undefined;
  if (!row) throw new ApiError('HANDLE_INVALID', ['task', String(ref)]);
  return row;
}

/** Records the member's task behind `self`; answers `self`'s status, which says whether to run. */
export function recordForwarded(ctx: ActionContext, self: Ref<'task'>, host: Ref<'host'>, hostTask: string): string {
  const session = ctx.session;
  if (!session?.internal) throw new ApiError('RBAC_PERMISSION_DENIED', ['task.islet_forwarded', 'Only hosts of the pool may call this']);
  // A host's credential speaks for that host only.
  if (session.poolHost && ctx.db.refByUuid('host', session.poolHost.uuid) !== host) {
    throw new ApiError('RBAC_PERMISSION_DENIED', ['task.islet_forwarded', 'A host names only its own tasks']);
  }
  if (isNullRef(host) || !ctx.db.get('host', host)) throw new ApiError('HANDLE_INVALID', ['host', String(host)]);
  const row = mustTask(ctx, self);
  if (row.status === 'pending') ctx.db.update('task', self, { islet_forwarded_to: host, islet_forwarded_task: hostTask });
  return row.status;
}

/** The member and its task doing the work of `row`, while that work may still run. */
function runningOn(ctx: ActionContext, row: RecordOf<'task'>): { host: Ref<'host'>; task: string } | undefined {
  const host = row.islet_forwarded_to;
  if (isNullRef(host) || host === ctx.services.hostRef || !row.islet_forwarded_task || !ctx.services.pool) return undefined;
  return row.status === 'pending' || row.status === 'cancelling' ? { host, task: row.islet_forwarded_task } : undefined;
}

/**
 * Cancels `task`: on the member doing its work when it was forwarded (and is not over),
 * else here. Never throws for a member that cannot be told.
 */
export async function cancelTask(ctx: ActionContext, task: Ref<'task'>): Promise<void> {
  const row = mustTask(ctx, task);
  const on = runningOn(ctx, row);
  if (on) {
    // Marked before the member is told: its report that the work is cancelled may come
    // back before this call returns, and must not be overwritten.
    if (row.status === 'pending') ctx.db.update('task', task, { status: 'cancelling' });
    try {
      await ctx.services.pool!.callOnHost(on.host, 'task.cancel', [on.task]);
      return;
    } catch {
      // The member is away or its task is gone: nobody will report; the task ends here.
    }
  }
  ctx.services.tasks.cancel(task);
}

/**
 * Destroys `task`. Destroying a task whose work runs here stops that work (`TaskRunner`);
 * so does destroying one whose work a member runs: the member is told, without waiting for
 * it (its reports then find no task, which it takes in its stride).
 */
export function destroyTask(ctx: ActionContext, task: Ref<'task'>): void {
  const row = mustTask(ctx, task);
  const on = runningOn(ctx, row);
  ctx.services.tasks.destroy(task);
  if (on) void ctx.services.pool!.callOnHost(on.host, 'task.cancel', [on.task]).catch(() => undefined);
}
