/**
 * @module
 * task: clients create tasks for HTTP transfers, and cancel or destroy any task.
 */
import type { Ref } from '../core/ref.js';
import type { ClassActions } from './context.js';

export const taskActions: ClassActions = {
  create: (ctx, a) => ctx.services.tasks.create(String(a.label), String(a.description), ctx.session?.ref),
  cancel: (ctx, a) => {
    ctx.services.tasks.cancel(a.task as Ref<'task'>);
    return '';
  },
  destroy: (ctx, a) => {
    ctx.services.tasks.destroy(a.self as Ref<'task'>);
    return '';
  },
};
