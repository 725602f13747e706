/**
 * @module
 * task: clients create tasks for HTTP transfers, and cancel or destroy any task. A client
 * that made a task itself (`task.create`) reports on it with the setters: progress, result,
 * error and status; a status that ends the task stamps `finished` and closes its
 * operations, as a task that ran inside the toolstack would.
 */
import { ApiError } from '../../core/api-error.js';
import { xapiDate, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';

const ENDED = new Set(['success', 'failure', 'cancelled']);

function mustTask(ctx: ActionContext, ref: unknown) {
  const row = typeof ref === 'string' ? ctx.db.get('task', ref) : undefined;
  if (!row) throw new ApiError('HANDLE_INVALID', ['task', String(ref)]);
  return row;
}

function setField<A extends { self: Ref<'task'> }>(field: string, value: (a: A) => unknown) {
  return (ctx: ActionContext, a: A) => {
    mustTask(ctx, a.self);
    ctx.db.update('task', a.self, { [field]: value(a) });
    return '';
  };
}

export const taskActions = {
  create: (ctx, a) => ctx.services.tasks.create(String(a.label), String(a.description), ctx.session?.ref),
  cancel: (ctx, a) => {
    ctx.services.tasks.cancel(a.task);
    return '';
  },
  destroy: (ctx, a) => {
    ctx.services.tasks.destroy(a.self);
    return '';
  },
  set_status: (ctx, a) => {
    mustTask(ctx, a.self);
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
} satisfies ActionsOf<'task'>;
