/**
 * @module
 * A transfer sent to a pool member with a `task_id` the client made on the master. Tasks
 * live in the memory of the host that made them (they are not replicated), so a member knows
 * nothing of that task: it runs the work under a task of its own and reports on the
 * master's through the pool link (`task.set_progress`, then the result or error and the
 * final status), as a member of a XenServer pool writes the pool-wide task. The handle the
 * work sees carries the master's task ref, so that what an import marks names the task its
 * client waits on, and a member restarted after a crash fails that task there
 * (`failTaskOnMaster`). Reports are sent one at a time, in order, the latest progress only;
 * a report that cannot be delivered (the task destroyed, the master away) is logged, never
 * fatal to the transfer. Before the work starts, the member tells the master which of its
 * tasks runs it (`attach`), so that `task.cancel` of the master's task is passed on to this
 * one and stops the work here; a task the client cancelled before that is not run at all.
 */
import type { PoolDb } from '../../core/ports/pool-db.js';
import type { PoolLink } from '../../core/ports/pool-link.js';
import type { TaskHandle } from '../../core/ports/tasks.js';
import type { ApiError } from '../../core/api-error.js';
import { isRef, type Ref } from '../../core/ref.js';

export interface MasterTaskRelay {
  /** What the work sees: the master's task ref, the local task's cancellation. */
  readonly handle: TaskHandle;
  /**
   * Names the local task to the master as the one doing the work; resolves with the
   * master's task status then (undefined when the master could not be asked). Only a
   * `pending` task is reported on after that: any other has its outcome already.
   */
  attach(): Promise<string | undefined>;
  succeed(resultXml: string): Promise<void>;
  fail(err: ApiError): Promise<void>;
}

interface RelayDeps {
  readonly db: PoolDb;
  readonly pool?: PoolLink;
  readonly log?: (msg: string) => void;
}

function masterOf(d: RelayDeps): Ref<'host'> | undefined {
  if (!d.pool || d.pool.isMaster()) return undefined;
  return d.db.all('pool')[0]?.[1].master;
}

/**
 * The relay for `task_id` when this host is a member and the task is not one of its own;
 * undefined otherwise (no task named, a local task, or this host is the master).
 */
export function masterTaskRelay(d: RelayDeps, taskId: string | null, local: TaskHandle, self: Ref<'host'>): MasterTaskRelay | undefined {
  const master = masterOf(d);
  if (!master || !taskId || !isRef(taskId) || d.db.get('task', taskId)) return undefined;
  const ref = taskId as Ref<'task'>;
  const link = d.pool!;
  let queue: Promise<void> = Promise.resolve();
  let pending: number | undefined;
  let reported = false;
  /** The master's task had ended before the work started: nothing is reported on it. */
  let over = false;
  const send = (method: string, value: unknown) => over ? Promise.resolve() : link.callOnHost(master, method, [ref, value]).then(() => undefined, (e: unknown) => {
    if (!reported) d.log?.(`reporting on the master's task ${ref}: ${method}: ${e instanceof Error ? e.message : String(e)}`);
    reported = true;
  });
  const enqueue = (fn: () => Promise<void>) => (queue = queue.then(fn));
  const finish = async (steps: Array<[string, unknown]>) => {
    pending = undefined;
    await enqueue(async () => {
      for (const [method, value] of steps) await send(method, value);
    });
  };
  return {
    attach: async () => {
      try {
        const status = String(await link.callOnHost(master, 'task.islet_forwarded', [ref, self, local.ref]));
        over = status !== 'pending';
        return status;
      } catch (e) {
        d.log?.(`naming this host's task for the master's task ${ref}: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }
    },
    handle: {
      ref, signal: local.signal,
      setProgress: (f) => {
        local.setProgress(f);
        const first = pending === undefined;
        pending = f;
        if (first) {
          void enqueue(async () => {
            const v = pending;
            pending = undefined;
            if (v !== undefined) await send('task.set_progress', v);
          });
        }
      },
    },
    succeed: (resultXml) => finish([['task.set_result', resultXml], ['task.set_progress', 1], ['task.set_status', 'success']]),
    fail: (err) => finish([['task.set_error_info', err.toWire()], ['task.set_status', err.code === 'TASK_CANCELLED' ? 'cancelled' : 'failure']]),
  };
}

/**
 * A member that rolled back, at start, work of a previous run made under the master's
 * task `ref`: that task fails there with `err` (a task of this host's own, one the master
 * no longer has, or one that has ended there, is left alone). Retried while the master cannot be reached yet.
 */
export async function failTaskOnMaster(d: RelayDeps, ref: Ref<'task'>, err: ApiError, tries = 30): Promise<boolean> {
  const master = masterOf(d);
  if (!master || master === undefined) return false;
  for (let i = 0; ; i++) {
    try {
      await d.pool!.callOnHost(master, 'task.set_error_info', [ref, err.toWire()]);
      await d.pool!.callOnHost(master, 'task.set_status', [ref, 'failure']);
      return true;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      // Gone, or ended already (cancelled there while this host was down): nothing to fail.
      const final = code === 'HANDLE_INVALID' || code === 'OPERATION_NOT_ALLOWED';
      if (final || i + 1 >= tries) {
        if (!final) d.log?.(`failing the master's task ${ref}: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
