/**
 * @module
 * The fuzz suite: each target runs in its own worker thread for a fixed budget (seconds
 * and executions); a worker whose execution counter stops moving for `hangSeconds` is a
 * hang, stopped, and the input it was on is saved. Every crash or hang is written to the
 * regression corpus (`torture/corpus/regression/<target>/`), which the test suite replays.
 * Coverage guidance (jazzer.js) needs its native fuzzer, whose prebuilt binary wants a
 * newer glibc than this project's machines have; the suite mutates valid seeds and
 * generates inputs by grammar with fast-check instead, reproducible from the printed seed.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { repoRoot } from '../../test/helpers/repo-root.js';
import { SuiteRecorder, type SuiteResult } from '../suite-result.js';
import { SHARED_HEADER, SHARED_INPUT_MAX, type WorkerInput, type WorkerMessage } from './fuzz-worker.js';
import { fuzzTargets } from './targets.js';

export interface FuzzOptions {
  seconds: number;
  maxRuns?: number;
  hangSeconds?: number;
  seed?: number;
  targets?: string[];
  /** Where findings go; the repository's regression corpus by default. */
  corpusDir?: string;
}

export const regressionDir = () => join(repoRoot(), 'torture', 'corpus', 'regression');

interface Outcome { execs: number; seconds: number; finding?: { kind: 'crash' | 'hang'; input: Buffer; message: string } }

async function runTarget(name: string, o: FuzzOptions, seed: number): Promise<Outcome> {
  const dir = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), `islet-fuzz-${name}-`));
  try {
    return await runWorker(name, o, seed, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runWorker(name: string, o: FuzzOptions, seed: number, dir: string): Promise<Outcome> {
  const shared = new SharedArrayBuffer(SHARED_HEADER + SHARED_INPUT_MAX);
  const counters = new Int32Array(shared, 0, 2);
  const data: WorkerInput = { target: name, seconds: o.seconds, maxRuns: o.maxRuns ?? 1e9, seed, dir, shared };
  const worker = new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: data, stderr: true });
  const started = performance.now();
  return new Promise((resolve) => {
    let last = -1;
    let lastMove = performance.now();
    let settled = false;
    const finish = (out: Outcome) => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      void worker.terminate().then(() => resolve(out), () => resolve(out));
    };
    const watch = setInterval(() => {
      const n = Atomics.load(counters, 0);
      if (n !== last) { last = n; lastMove = performance.now(); return; }
      if (performance.now() - lastMove > (o.hangSeconds ?? 10) * 1000) {
        const len = Atomics.load(counters, 1);
        const input = Buffer.from(new Uint8Array(shared, SHARED_HEADER, len));
        finish({ execs: n, seconds: (performance.now() - started) / 1000,
          finding: { kind: 'hang', input, message: `no progress for ${o.hangSeconds ?? 10} s on a ${len}-byte input` } });
      }
    }, 250);
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'done') finish({ execs: m.execs, seconds: m.seconds });
      else finish({ execs: m.execs, seconds: m.seconds, finding: { kind: 'crash', input: Buffer.from(m.input), message: m.message } });
    });
    worker.on('error', (e) => finish({ execs: Atomics.load(counters, 0), seconds: (performance.now() - started) / 1000,
      finding: { kind: 'crash', input: Buffer.from(new Uint8Array(shared, SHARED_HEADER, Atomics.load(counters, 1))), message: `worker died: ${e.stack ?? e.message}` } }));
    worker.on('exit', (code) => finish({ execs: Atomics.load(counters, 0), seconds: (performance.now() - started) / 1000,
      finding: { kind: 'crash', input: Buffer.from(new Uint8Array(shared, SHARED_HEADER, Atomics.load(counters, 1))), message: `worker exited ${code} without a verdict` } }));
  });
}

export async function runFuzz(o: FuzzOptions): Promise<SuiteResult> {
  const rec = new SuiteRecorder('fuzz');
  const seed = o.seed ?? (Date.now() % 1_000_000_007);
  const corpus = o.corpusDir ?? regressionDir();
  rec.figure('engine', `fast-check ${o.seconds} s per target, seed ${seed}`);
  let total = 0;
  for (const t of fuzzTargets) {
    if (o.targets && !o.targets.includes(t.name)) continue;
    const r = await runTarget(t.name, o, seed);
    total += r.execs;
    let found = 'no findings';
    if (r.finding) {
      const hash = createHash('sha256').update(r.finding.input).digest('hex').slice(0, 12);
      const dir = join(corpus, t.name);
      await mkdir(dir, { recursive: true });
      const file = join(dir, `${r.finding.kind}-${hash}.bin`);
      await writeFile(file, r.finding.input);
      await writeFile(`${file}.txt`, `${r.finding.message}\n`);
      found = `1 ${r.finding.kind}, saved as ${file}`;
      rec.fail(`${t.name}: ${r.finding.kind}: ${r.finding.message}`);
    }
    rec.figure(t.name, `${r.execs} executions in ${r.seconds.toFixed(1)} s (${(r.execs / Math.max(r.seconds, 0.001)).toFixed(0)}/s), ${found}`);
  }
  rec.figure('executions', total);
  return rec.result();
}
