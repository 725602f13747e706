/**
 * @module
 * Crash trials of the file SR as the toolstack drives it: a child process attaches a copy of
 * a snapshot tree and snapshots (several disks as one change), destroys, clones and
 * garbage-collects (coalescing hidden nodes and leaves) by one of several plans, and dies by
 * SIGKILL either at a crash point drawn from a traced run of that plan (any occurrence,
 * so long copy loops get their share) or after a random time. After each death: the next
 * attach recovers (empty journal), the tree is well-formed, every visible disk reads exactly
 * what it should, a new snapshot/clone/destroy/GC round works (the SR is usable again),
 * the collected tree leaves no file that no node owns, and the disks still read right.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AttachedSr } from '../../src/core/ports/sr-driver.js';
import { FileSrDriver } from '../../src/storage/file/file-sr-driver.js';
import { spawnModule } from '../../test/helpers/spawn-ts.js';
import { buildTree, newSr, tempBase } from '../../test/storage/file/file-sr-helpers.js';
import type { WorkerPlan } from '../../test/storage/file/fixtures/sr-worker.js';
import { checkTree, vdiHash, visibleHashes } from '../../test/storage/sr-driver.contract.js';
import type { Rng } from './rng.js';

const exec = promisify(execFile);
const WORKER = 'test/storage/file/fixtures/sr-worker.ts';

interface Variant {
  plan: WorkerPlan;
  /** New disk -> the disk whose content it must have. */
  sources: Map<string, string>;
  trace: string[];
  ms: number;
}

export interface StorageLab {
  root: string;
  template: string;
  srUuid: string;
  originals: Map<string, string>;
  variants: Variant[];
}

function runWorker(plan: WorkerPlan, env: Record<string, string>, killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawnModule(WORKER, [JSON.stringify(plan)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), killAfterMs) : undefined;
    child.on('error', reject);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stderr, ms: performance.now() - started }); });
  });
}

async function copyOf(lab: StorageLab, name: string): Promise<string> {
  const dst = join(lab.root, name);
  await exec('cp', ['-a', '--sparse=always', lab.template, dst]);
  return dst;
}

export async function setupStorageLab(): Promise<StorageLab> {
  const root = await mkdtemp(join(await tempBase(), 'islet-torture-crash-'));
  const template = join(root, 'template');
  const t = await newSr(template);
  const { vdis: v } = await buildTree(t.sr);
  const originals = await visibleHashes(t.sr);
  await t.sr.detach();
  const n = () => randomUUID();
  const plans: Array<{ snapshot: Array<[string, string]>; destroy: string[]; clone: Array<[string, string]> }> = [
    { snapshot: [[v.c2!, n()], [v.cs2!, n()]], destroy: [v.s1!, v.s3!, v.cs1!, v.c1!], clone: [[v.s2!, n()]] },
    { snapshot: [[v.vm!, n()]], destroy: [v.s2!, v.cs2!], clone: [[v.c1!, n()]] },
    { snapshot: [], destroy: [v.s1!, v.s2!, v.s3!], clone: [[v.vm!, n()]] },
    { snapshot: [[v.vm!, n()], [v.c1!, n()], [v.c2!, n()]], destroy: [v.cs1!, v.s3!], clone: [[v.cs2!, n()]] },
  ];
  const lab: StorageLab = { root, template, srUuid: t.srUuid, originals, variants: [] };
  for (const [i, p] of plans.entries()) {
    const path = await copyOf(lab, `traced-${i}`);
    const traceFile = join(root, `trace-${i}.txt`);
    const plan: WorkerPlan = { srUuid: t.srUuid, path, ...p };
    const r = await runWorker(plan, { ISLET_CRASH_TRACE: traceFile });
    if (r.code !== 0) throw new Error(`plan ${i} fails without a crash: ${r.stderr}`);
    const trace = (await readFile(traceFile, 'utf8')).trim().split('\n');
    await rm(path, { recursive: true, force: true });
    lab.variants.push({ plan: { ...plan, path: '' }, sources: new Map([...p.snapshot, ...p.clone].map(([s, d]) => [d, s])), trace, ms: r.ms });
  }
  return lab;
}

/** Files a collected SR may hold besides one `.vhd` per node. */
const METADATA = new Set(['sr.json', 'vdi-flags.json', '.journal', '.active', '.lock', '.lock.last']);

/** One trial; returns its label and the failures seen (empty when all held). */
export async function storageTrial(lab: StorageLab, rng: Rng, id: number): Promise<{ label: string; failures: string[] }> {
  const variant = rng.pick(lab.variants);
  const vi = lab.variants.indexOf(variant);
  const byTime = rng.next() < 0.25;
  const point = rng.pick(variant.trace);
  const label = byTime ? `plan ${vi}, kill -9 at ${Math.round(rng.next() * variant.ms)} ms` : `plan ${vi}, kill -9 at ${point}`;
  const killAfter = byTime ? Number(/at (\d+) ms/.exec(label)![1]) : undefined;
  const failures: string[] = [];
  const fail = (m: string) => failures.push(`${label}: ${m}`);
  const path = await copyOf(lab, `trial-${id}`);
  try {
    const r = await runWorker({ ...variant.plan, path }, byTime ? {} : { ISLET_CRASH_AT: point }, killAfter);
    if (!byTime && r.signal !== 'SIGKILL') fail(`did not die at the point (code ${r.code}) ${r.stderr.slice(0, 200)}`);
    if (r.code !== null && r.code !== 0) fail(`the worker failed on its own: ${r.stderr.slice(0, 300)}`);
    let sr: AttachedSr;
    try {
      sr = await new FileSrDriver().attach(lab.srUuid, { path });
    } catch (e) {
      fail(`re-attach (recovery) failed: ${(e as Error).message}`);
      return { label, failures };
    }
    try {
      const journal = await readdir(join(path, '.journal')).catch(() => []);
      if (journal.length) fail(`journal not recovered: ${journal.join(', ')}`);
      const check = async (when: string) => {
        try { checkTree(await sr.scan()); } catch (e) { fail(`${when}: tree: ${(e as Error).message}`); }
        const visible = (await sr.scan()).filter((x) => !x.hidden).map((x) => x.uuid);
        for (const u of lab.originals.keys()) {
          if (!variant.plan.destroy.includes(u) && !visible.includes(u)) fail(`${when}: ${u} vanished`);
        }
        for (const u of visible) {
          const expected = lab.originals.get(u) ?? lab.originals.get(variant.sources.get(u) ?? '');
          if (!expected) { fail(`${when}: unknown visible disk ${u}`); continue; }
          const got = await vdiHash(sr, u).catch((e: Error) => `unreadable: ${e.message}`);
          if (got !== expected) fail(`${when}: content of ${u} differs (${got.slice(0, 40)})`);
        }
        return visible;
      };
      const visible = await check('after recovery');
      // Usable again: a fresh round of snapshot, clone, destroy and collection.
      const subject = visible.find((u) => lab.originals.has(u)) ?? visible[0];
      if (subject) {
        try {
          const snap = randomUUID();
          const clone = randomUUID();
          await sr.vdiSnapshot(subject, snap);
          await sr.vdiClone(snap, clone);
          await sr.vdiDestroy(snap);
          await sr.gc();
          const want = lab.originals.get(subject) ?? lab.originals.get(variant.sources.get(subject) ?? '');
          if ((await vdiHash(sr, clone)) !== want) fail('a clone made after recovery reads wrong');
          await sr.vdiDestroy(clone);
          await sr.gc();
        } catch (e) {
          fail(`not resumable: a new snapshot/clone/destroy/GC round failed: ${(e as Error).message}`);
        }
      }
      try { checkTree(await sr.scan(), { collected: true }); } catch (e) { fail(`after GC: not collected: ${(e as Error).message}`); }
      await check('after GC');
      const nodes = new Set((await sr.scan()).map((x) => `${x.uuid}.vhd`));
      const orphans = (await readdir(path)).filter((f) => !nodes.has(f) && !METADATA.has(f) && !f.startsWith('.lock'));
      if (orphans.length) fail(`orphan files: ${orphans.join(', ')}`);
    } finally {
      await sr.detach();
    }
  } finally {
    await rm(path, { recursive: true, force: true });
  }
  return { label, failures };
}
