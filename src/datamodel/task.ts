/**
 * @module
 * A task: the progress and outcome of one long-running call. Async calls return one at
 * once; clients poll it or watch it with event.from. Tasks live in memory only.
 */
import { cls, inverse, message, param, runtime, rw, setter, t } from './dsl.js';
import { taskAllowedOperations, taskStatusType } from './enums.js';

export const task = cls('task', {
  doc: 'The tracked progress and result of an asynchronous operation',
  persist: false,
  writeRole: 'pool-operator',
  fields: [
    runtime('name_label', t.string, 'Short name, usually the call being run'),
    runtime('name_description', t.string, 'Longer description of the work'),
    runtime('allowed_operations', t.set(t.enum(taskAllowedOperations)), 'Operations that may be started on this object now'),
    runtime('current_operations', t.map(t.string, t.enum(taskAllowedOperations)), 'Operations running on this object, keyed by the task that runs them'),
    runtime('created', t.datetime, 'When the task began'),
    runtime('finished', t.datetime, 'When the task ended; meaningless while it is pending'),
    runtime('status', t.enum(taskStatusType), 'Whether the task is still running, succeeded, failed or was cancelled'),
    runtime('resident_on', t.ref('host'), 'The host doing the work'),
    runtime('progress', t.float, 'Fraction done, from 0 to 1'),
    runtime('type', t.string, 'XenAPI type name of the result, when the result is a reference'),
    runtime('result', t.string, 'What the call returned, as an XML-RPC value fragment; empty until success'),
    runtime('error_info', t.set(t.string), 'The error code and its parameters when the task failed'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
    runtime('subtask_of', t.ref('task'), 'The task this one is a step of, or null'),
    inverse('subtasks', 'task', 'subtask_of', 'Tasks that are steps of this one'),
    runtime('backtrace', t.string, 'Where the failure happened, for debugging', { default: '()' }),
    runtime('islet_session', t.ref('session'), 'The session that created the task; tasks go when it does', { internal: true }),
    runtime('islet_forwarded_to', t.ref('host'), 'The pool member whose own task does this task\'s work, or null', { internal: true }),
    runtime('islet_forwarded_task', t.string, 'That member\'s task, which a cancel of this one is passed on to', { internal: true }),
  ],
  messages: [
    message('create', {
      doc: 'Makes a new pending task that the caller reports progress on itself',
      params: [
        param('label', t.string, 'Short name for the task'),
        param('description', t.string, 'Longer description'),
      ],
      result: t.ref('task'),
      resultDoc: 'The new task',
      role: 'read-only',
    }),
    message('destroy', {
      doc: 'Removes a task once its outcome has been read',
      params: [
        param('self', t.ref('task'), 'The task to remove'),
      ],
      role: 'read-only',
    }),
    message('cancel', {
      doc: 'Asks the operation behind a task to stop as soon as it safely can',
      params: [
        param('task', t.ref('task'), 'The task to cancel'),
      ],
      errors: ['OPERATION_NOT_ALLOWED'],
      role: 'read-only',
      async: true,
    }),
    message('islet_forwarded', {
      doc: 'Islet internal: a pool member says which of its own tasks does the work of this one, so that cancelling this one reaches it',
      params: [
        param('self', t.ref('task'), 'The task, made on this host, that a client named to the member'),
        param('host', t.ref('host'), 'The member doing the work'),
        param('host_task', t.string, 'The member\'s own task running it'),
      ],
      result: t.string,
      resultDoc: 'The task\'s status now: the member runs the work only while it is pending',
      role: 'pool-admin',
      internal: true,
    }),
    setter('task', 'set_status', t.enum(taskStatusType), 'Its new state', {
      doc: 'Records the state of a task the caller created itself',
      role: 'read-only',
    }),
    setter('task', 'set_progress', t.float, 'Fraction done, 0 to 1', {
      doc: 'Records how far a task created by the caller has got',
      role: 'read-only',
    }),
    setter('task', 'set_result', t.string, 'The result as an XML-RPC value fragment', {
      doc: 'Records the result of a task created by the caller',
      role: 'read-only',
    }),
    setter('task', 'set_error_info', t.set(t.string), 'Error code followed by its parameters', {
      doc: 'Records why a task created by the caller failed',
      role: 'read-only',
    }),
  ],
});
