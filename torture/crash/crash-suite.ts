/**
 * @module
 * The crash suite: `trials` random kill -9 points, reproducible from the printed seed.
 * Storage trials (storage-trials.ts) kill the process driving a file SR through snapshot,
 * clone, destroy, GC and coalesce; toolstack trials (toolstack-trials.ts) kill a real
 * `bin/islet server`, its hypervisor simulator, or both (a whole host) during XenAPI
 * snapshot, clone, revert, GC, raw import, NBD write and patch apply,
 * restart it on the same data and check what every client would see; rolling trials
 * (rolling-trials.ts) kill a pool master's toolstack during a rolling pool update. Every
 * trial's checks are listed in those modules; the suite reports trials per kind and failures.
 */
import { rm } from 'node:fs/promises';
import { SuiteRecorder, type SuiteResult } from '../suite-result.js';
import { Rng, inPool } from './rng.js';
import { setupStorageLab, storageTrial } from './storage-trials.js';
import { rollingTrials } from './rolling-trials.js';
import { toolstackTrials } from './toolstack-trials.js';

export interface CrashOptions {
  /** Storage-level trials (child process driving the SR). */
  storageTrials: number;
  /** Trials killing a whole `islet server` during XenAPI operations. */
  toolstackTrials: number;
  /** Trials killing a pool master during a rolling pool update (a fresh pool each). */
  rollingTrials?: number;
  seed?: number;
  concurrency?: number;
  /** Toolstack operations to take in turn (all by default). */
  ops?: string[];
  /** Print a line per finished trial on stderr (the command line does). */
  progress?: boolean;
}

export async function runCrash(o: CrashOptions): Promise<SuiteResult> {
  const rec = new SuiteRecorder('crash');
  const seed = o.seed ?? (Date.now() % 1_000_000_007);
  const rng = new Rng(seed);
  rec.figure('seed', seed);
  const started = performance.now();
  if (o.storageTrials > 0) {
    const lab = await setupStorageLab();
    try {
      rec.figure('storage plans', lab.variants.map((v, i) => `${i}: ${v.trace.length} crash points`).join(', '));
      const plan = Array.from({ length: o.storageTrials }, (_, i) => i);
      const rngs = plan.map(() => new Rng(rng.int(2 ** 32)));
      let failed = 0;
      const names = new Set<string>();
      await inPool(plan, o.concurrency ?? 2, async (i) => {
        const r = await storageTrial(lab, rngs[i]!, i);
        names.add(r.label.replace(/:\d+$/, '').replace(/\d+ ms$/, 'a random time'));
        if (r.failures.length) { failed++; for (const f of r.failures) rec.fail(f); }
        if (o.progress) process.stderr.write(`storage trial ${i}: ${r.label}: ${r.failures.length ? `FAILED ${r.failures.join('; ')}` : 'ok'}\n`);
      });
      rec.figure('storage trials', `${o.storageTrials} (${names.size} distinct plan/point kinds), ${failed} failed`);
    } finally {
      await rm(lab.root, { recursive: true, force: true });
    }
  }
  if (o.toolstackTrials > 0) {
    const r = await toolstackTrials(o.toolstackTrials, rng, o.ops, o.progress);
    for (const f of r.failures) rec.fail(f);
    rec.figure('toolstack trials', `${o.toolstackTrials} (${r.summary}), ${r.failedTrials} failed`);
  }
  const rolling = o.rollingTrials ?? 0;
  if (rolling > 0) {
    const r = await rollingTrials(rolling, rng, o.progress);
    for (const f of r.failures) rec.fail(f);
    rec.figure('rolling update trials', `${rolling} (${r.summary}), ${r.failedTrials} failed`);
  }
  rec.figure('trials', o.storageTrials + o.toolstackTrials + rolling);
  rec.figure('duration', `${((performance.now() - started) / 1000).toFixed(1)} s`);
  return rec.result();
}
