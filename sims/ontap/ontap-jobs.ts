/**
 * @module
 * ONTAP's asynchronous jobs: a volume or Snapshot copy operation answers 202 with a job
 * link, runs in the background (queued, running, then success or failure with ONTAP's
 * message and code), and its record stays readable at `/api/cluster/jobs/{uuid}` for 300 s
 * after it ends, then disappears (404), as on a real cluster. Every job and every
 * synchronous change runs through one queue, so operations never interleave.
 */
import { randomUUID } from 'node:crypto';
import { OntapError } from './ontap-errors.js';

export type JobState = 'queued' | 'running' | 'success' | 'failure';

export interface Job {
  uuid: string;
  description: string;
  state: JobState;
  message: string;
  code: number;
  start_time: string;
  end_time?: string;
  error?: { message: string; code: string; arguments: { code: string; message: string }[] };
}

export class JobRunner {
  private readonly jobs = new Map<string, { job: Job; done: Promise<void> }>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();

  /** @param startDelayMs how long a job stays queued (clients must poll, never assume). */
  constructor(private readonly startDelayMs = 10, private readonly keepMs = 300_000) {}

  /** Runs `fn` after every earlier operation, without a job. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  start(description: string, fn: () => Promise<void>): Job {
    const job: Job = { uuid: randomUUID(), description, state: 'queued', message: '', code: 0, start_time: new Date().toISOString() };
    const done = new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        void this.serial(async () => {
          job.state = 'running';
          try {
            await fn();
            job.state = 'success';
            job.message = 'success';
          } catch (e) {
            job.state = 'failure';
            const err = e instanceof OntapError ? e : new OntapError(500, '1', e instanceof Error ? e.message : String(e));
            job.message = err.message;
            job.code = Number(err.code);
            job.error = { message: err.message, code: err.code, arguments: [] };
          }
          job.end_time = new Date().toISOString();
          resolve();
          const gone = setTimeout(() => {
            this.timers.delete(gone);
            this.jobs.delete(job.uuid);
          }, this.keepMs);
          gone.unref();
          this.timers.add(gone);
        });
      }, this.startDelayMs);
      this.timers.add(t);
    });
    this.jobs.set(job.uuid, { job, done });
    return job;
  }

  get(uuid: string): Job | undefined {
    return this.jobs.get(uuid)?.job;
  }

  /** Waits up to `seconds` for the job to end (ONTAP's `return_timeout`). */
  async wait(uuid: string, seconds: number): Promise<Job | undefined> {
    const entry = this.jobs.get(uuid);
    if (!entry) return undefined;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([entry.done, new Promise<void>((r) => (timer = setTimeout(r, seconds * 1000)))]);
    clearTimeout(timer);
    return entry.job;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
