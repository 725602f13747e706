/**
 * @module
 * task: clients create tasks for HTTP transfers, and cancel or destroy any task. A client
 * that made a task itself (`task.create`) reports on it with the setters: progress, result,
 * error and status; a status that ends the task stamps `finished` and closes its
 * operations, as a task that ran inside the toolstack would. An ended task keeps its
 * outcome: the setters refuse to change it (a late report of work that was cancelled must
 * not turn a cancelled task into a success). A task whose work a pool member runs is
 * cancelled there, also when destroyed (`task-forwarding.ts`).
 */
import { ApiError } from '../../core/api-error.js';
import { xapiDate, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { cancelTask, destroyTask, ENDED, mustTask, recordForwarded } from './task-forwarding.js';

/** The task, if it may still be reported on. */
function mustBeOpen(ctx: ActionContext, ref: Ref<'task'>) {
  const row = mustTask(ctx, ref);
  if (ENDED.has(row.status)) throw new ApiError('OPERATION_NOT_ALLOWED', [`task ${ref} has ended (${row.status}); its outcome is final`]);
  return row;
}

function setField<A extends { self: Ref<'task'> }>(field: string, value: (a: A) => unknown) {
  return (ctx: ActionContext, a: A) => {
    mustBeOpen(ctx, a.self);
    ctx.db.update('task', a.self, { [field]: value(a) });
    return '';
  };
}

export const taskActions = {
  create: (ctx, a) => ctx.services.tasks.create(String(a.label), String(a.description), ctx.session?.ref),
  cancel: async (ctx, a) => {
    await cancelTask(ctx, a.task);
    return '';
  },
  destroy: (ctx, a) => {
    destroyTask(ctx, a.self);
    return '';
  },
  set_status: (ctx, a) => {
    mustBeOpen(ctx, a.self);
    const status = String(a.value);
    const patch: Record<string, unknown> = { status };
    if (ENDED.has(status)) {
      patch.finished = xapiDate(ctx.services.now());
      patch.allowed_operations = [];
      if (status === 'success') patch.progress = 1;
    }
    ctx.db.update('task', a.self, patch);
    return '';
  },
  set_progress: setField('progress', (a) => Math.max(0, Math.min(1, Number(a.value)))),
  set_result: setField('result', (a) => String(a.value)),
  set_error_info: setField('error_info', (a) => (a.value as unknown[]).map(String)),
  islet_forwarded: (ctx, a) => recordForwarded(ctx, a.self, a.host, a.host_task),
} satisfies ActionsOf<'task'>;
