/**
 * @module
 * Tasks: the records through which asynchronous work reports progress, result and error.
 * They live in memory (as in xapi they do not survive a restart). A task's `result` is
 * an XML-RPC `<value>` fragment whatever protocol the client speaks; XenAPI clients parse it.
 */
import { ApiError } from '../core/api-error.js';
import { toWireError } from '../core/wire-errors.js';
import type { PoolDb } from '../core/ports/pool-db.js';
import { newRef, newUuid, xapiDate, type Ref } from '../core/ref.js';
import type { TaskHandle } from '../core/ports/tasks.js';

/** Finished tasks nobody destroyed are swept after this long. */
const FINISHED_TTL_MS = 60 * 60 * 1000;

export class TaskRunner {
  private readonly controllers = new Map<string, AbortController>();
  private readonly finishedAt = new Map<string, number>();

  constructor(
    private readonly db: PoolDb,
    private readonly hostRef: () => Ref<'host'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  create(nameLabel: string, nameDescription: string, session?: Ref<'session'>): Ref<'task'> {
    this.sweep();
    const ref = newRef<'task'>();
    this.db.create('task', ref, {
      uuid: newUuid(),
      name_label: nameLabel,
      name_description: nameDescription,
      allowed_operations: ['cancel'],
      created: xapiDate(this.now()),
      status: 'pending',
      resident_on: this.hostRef(),
      progress: 0,
      other_config: session ? { session } : {},
    });
    return ref;
  }

  /**
   * A handle for work that reports through the task `ref`. Until some work holds one,
   * cancelling the task ends it at once (a client-made task nobody has used yet).
   */
  handle(ref: Ref<'task'>): TaskHandle {
    let ctl = this.controllers.get(ref);
    if (!ctl) {
      ctl = new AbortController();
      this.controllers.set(ref, ctl);
    }
    let last = -1;
    return {
      ref,
      signal: ctl.signal,
      setProgress: (fraction: number) => {
        const p = Math.max(0, Math.min(1, Math.round(fraction * 100) / 100));
        if (p === last || !this.db.get('task', ref)) return;
        last = p;
        this.db.update('task', ref, { progress: p });
      },
    };
  }

  /** Runs `work` under task `ref`; `encode` turns its value into the XML-RPC result fragment. */
  async run<T>(ref: Ref<'task'>, work: (h: TaskHandle) => Promise<T>, encode: (v: T) => string): Promise<void> {
    const h = this.handle(ref);
    try {
      const value = await work(h);
      this.succeed(ref, encode(value));
    } catch (e) {
      this.fail(ref, h.signal.aborted ? new ApiError('TASK_CANCELLED', [ref]) : toWireError(e));
    }
  }

  /**
   * A task of the previous run that its work did not outlive (an import rolled back at
   * start), back under its ref as failed, so that a client that held it learns the outcome.
   */
  recordFailed(ref: Ref<'task'>, uuid: string, nameLabel: string, err: ApiError): void {
    if (this.db.get('task', ref)) return;
    const at = xapiDate(this.now());
    this.db.create('task', ref, {
      uuid: uuid || newUuid(), name_label: nameLabel, name_description: '', allowed_operations: [], created: at, finished: at,
      status: 'failure', resident_on: this.hostRef(), progress: 1, error_info: err.toWire(), other_config: {},
    });
    this.finishedAt.set(ref, this.now().getTime());
  }

  succeed(ref: Ref<'task'>, resultXml: string): void {
    this.finish(ref, { status: 'success', progress: 1, result: resultXml });
  }

  fail(ref: Ref<'task'>, err: ApiError): void {
    const cancelled = err.code === 'TASK_CANCELLED';
    this.finish(ref, { status: cancelled ? 'cancelled' : 'failure', error_info: err.toWire() });
  }

  /**
   * Stops the work under `ref`, or ends the task at once when no work here holds it. A task
   * already `cancelling` with no work here is one whose work another host ran and could not
   * be told (`task-forwarding.ts`): it ends now.
   */
  cancel(ref: Ref<'task'>): void {
    const row = this.db.get('task', ref);
    if (!row) throw new ApiError('HANDLE_INVALID', ['task', ref]);
    const ctl = this.controllers.get(ref);
    if (row.status !== 'pending' && (row.status !== 'cancelling' || ctl)) return;
    if (row.status === 'pending') this.db.update('task', ref, { status: 'cancelling' });
    if (ctl) ctl.abort();
    else this.fail(ref, new ApiError('TASK_CANCELLED', [ref]));
  }

  destroy(ref: Ref<'task'>): void {
    if (!this.db.get('task', ref)) throw new ApiError('HANDLE_INVALID', ['task', ref]);
    this.controllers.get(ref)?.abort();
    this.controllers.delete(ref);
    this.finishedAt.delete(ref);
    this.db.remove('task', ref);
  }

  private finish(ref: Ref<'task'>, patch: Record<string, unknown>): void {
    this.controllers.delete(ref);
    if (!this.db.get('task', ref)) return; // destroyed while running: nobody is waiting
    this.db.update('task', ref, { ...patch, finished: xapiDate(this.now()), allowed_operations: [] });
    this.finishedAt.set(ref, this.now().getTime());
  }

  private sweep(): void {
    const limit = this.now().getTime() - FINISHED_TTL_MS;
    for (const [ref, at] of this.finishedAt) {
      if (at > limit) break;
      this.finishedAt.delete(ref);
      if (this.db.get('task', ref)) this.db.remove('task', ref);
    }
  }
}
