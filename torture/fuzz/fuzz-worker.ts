/**
 * @module
 * One fuzz target's run, in a worker thread so that the suite can stop it if it hangs
 * (a synchronous endless loop included). Before each execution the worker copies the input
 * into shared memory and bumps a counter there; the suite reads both to tell a hang from
 * progress and to save the input that hung. A failing input is shrunk by fast-check and
 * posted back with what went wrong.
 */
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { mutatedInputs } from './mutate.js';
import { targetByName } from './targets.js';

export interface WorkerInput {
  target: string;
  seconds: number;
  maxRuns: number;
  seed: number;
  /** A directory of the suite's making for the target's files; the suite removes it. */
  dir: string;
  shared: SharedArrayBuffer;
}

export type WorkerMessage =
  | { kind: 'done'; execs: number; seconds: number }
  | { kind: 'finding'; input: Uint8Array; message: string; execs: number; seconds: number };

/** Layout of the shared buffer: [exec counter, input length] then the input bytes. */
export const SHARED_HEADER = 8;
export const SHARED_INPUT_MAX = 1024 * 1024;

async function main(w: WorkerInput): Promise<void> {
  const target = targetByName(w.target)!;
  const counters = new Int32Array(w.shared, 0, 2);
  const bytes = new Uint8Array(w.shared, SHARED_HEADER);
  const ctx = await target.setup(w.dir);
  const started = performance.now();
  let execs = 0;
  let verdict: WorkerMessage | undefined;
  try {
    const seeds = await target.seeds(ctx);
    const arb = mutatedInputs(seeds, target.fixup?.bind(target), target.generate);
    const property = fc.asyncProperty(arb, async (input) => {
      const n = Math.min(input.length, SHARED_INPUT_MAX);
      bytes.set(input.subarray(0, n));
      Atomics.store(counters, 1, n);
      Atomics.add(counters, 0, 1);
      execs++;
      await target.check(input, ctx);
    });
    // The seeds themselves must pass first: a target that fails on valid input is broken.
    for (const s of seeds) await target.check(s, ctx);
    const r = await fc.check(property, { numRuns: w.maxRuns, interruptAfterTimeLimit: w.seconds * 1000, seed: w.seed });
    const seconds = (performance.now() - started) / 1000;
    if (r.failed && r.counterexample) {
      const err = r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance);
      verdict = { kind: 'finding', input: new Uint8Array(r.counterexample[0]), message: `${err} (seed ${r.seed}, path ${r.counterexamplePath})`, execs, seconds };
    } else {
      verdict = { kind: 'done', execs, seconds };
    }
  } finally {
    // Tear down before answering: the suite stops the worker as soon as it has the verdict.
    await target.teardown?.(ctx);
  }
  parentPort!.postMessage(verdict);
}

if (parentPort && workerData) {
  main(workerData as WorkerInput).catch((e: unknown) => {
    parentPort!.postMessage({ kind: 'finding', input: new Uint8Array(0), message: `the target itself failed: ${(e as Error)?.stack ?? String(e)}`, execs: 0, seconds: 0 } satisfies WorkerMessage);
  });
}
