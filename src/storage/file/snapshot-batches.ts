/**
 * @module
 * Snapshots and clones of a file SR taken in batches. Requests made while an earlier batch
 * holds the SR lock, or in the same tick (a VM's disks, asked for together), go in one
 * batch: one journaled change whose fsyncs are shared (see `snapshotVdis`), as a database
 * commits a group of transactions together. A request naming a disk already in the batch
 * waits for the next one.
 */
import type { SnapshotResult } from '../../core/ports/sr-driver.js';
import { snapshotVdis, type CowOutcome, type CowRequest } from './tree-ops.js';
import type { SrContext } from './sr-context.js';

interface Job {
  readonly req: CowRequest;
  resolve(r: SnapshotResult): void;
  reject(e: unknown): void;
}

export interface BatchHost {
  readonly ctx: SrContext;
  /** Runs `fn` under the SR lock (with the SR's own recovery first). */
  locked<T>(fn: () => Promise<T>): Promise<T>;
  /** Nodes whose files a batch changed. */
  touched(uuids: readonly string[]): void;
  /** What a caller gets for a request done (under the lock), or the error it gets instead. */
  answer(req: CowRequest, outcome: CowOutcome): Promise<SnapshotResult>;
}

export class SnapshotBatches {
  private queue: Job[] = [];
  /** A batch is waiting for the lock and will take the queue. */
  private scheduled = false;

  constructor(private readonly host: BatchHost) {}

  request(req: CowRequest): Promise<SnapshotResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    let batch: Job[] | null = null;
    this.host.locked(async () => {
      const jobs = this.take();
      batch = jobs;
      this.scheduled = false;
      // What has to wait goes in the next batch, behind this one.
      this.schedule();
      let outcomes: CowOutcome[];
      try {
        outcomes = await snapshotVdis(this.host.ctx, jobs.map((j) => j.req));
      } finally {
        this.host.touched(jobs.map((j) => j.req.leaf));
      }
      for (const [i, job] of jobs.entries()) {
        try {
          job.resolve(await this.host.answer(job.req, outcomes[i]!));
        } catch (e) {
          job.reject(e);
        }
      }
    }).catch((e: unknown) => {
      // Taking the lock or recovering failed: nothing was done for anyone waiting.
      if (batch === null) {
        this.scheduled = false;
        batch = this.queue.splice(0);
      }
      for (const job of batch) job.reject(e);
    });
  }

  /** The queued jobs that can go together: no disk named twice. */
  private take(): Job[] {
    const named = new Set<string>();
    const batch: Job[] = [];
    const later: Job[] = [];
    for (const job of this.queue) {
      const names = [job.req.leaf, ...(job.req.created === null ? [] : [job.req.created])];
      if (names.some((n) => named.has(n))) later.push(job);
      else {
        names.forEach((n) => named.add(n));
        batch.push(job);
      }
    }
    this.queue = later;
    return batch;
  }
}
