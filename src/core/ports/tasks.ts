/**
 * @module
 * Work that runs under a task: the handle an action reports progress and sees
 * cancellation through, and the task bookkeeping the task actions need. The API layer's
 * task runner implements it.
 */
import type { Ref } from '../ref.js';

/** Progress and cancellation for work that runs under a task. */
export interface TaskHandle {
  readonly ref: Ref<'task'>;
  readonly signal: AbortSignal;
  setProgress(fraction: number): void;
}

/** Task bookkeeping, as the task actions need it. */
export interface TasksPort {
  create(nameLabel: string, nameDescription: string, session?: Ref<'session'>): Ref<'task'>;
  cancel(ref: Ref<'task'>): void;
  destroy(ref: Ref<'task'>): void;
}
