/**
 * Crash safety of the file SR (hotfix truth 7): a child process snapshots (two disks as one
 * change), destroys, clones and garbage-collects a multi-level tree and is killed with
 * SIGKILL at one named point; the
 * test then re-attaches (journal recovery), checks every visible disk reads exactly what it
 * did, collects garbage to the end and checks again. The points are first learnt from a
 * traced run, so every crash case is a point the operation really passes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { AttachedSr } from '../../../src/core/ports/sr-driver.js';
import { FileSrDriver } from '../../../src/storage/file/file-sr-driver.js';
import { spawnModule } from '../../helpers/spawn-ts.js';
import { checkTree, vdiHash, visibleHashes } from '../sr-driver.contract.js';
import { buildTree, newSr, tempBase } from './file-sr-helpers.js';
import type { WorkerPlan } from './fixtures/sr-worker.js';

const exec = promisify(execFile);
const WORKER = 'test/storage/file/fixtures/sr-worker.ts';

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function runWorker(plan: WorkerPlan, env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawnModule(WORKER, [JSON.stringify(plan)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // 'close', not 'exit': the stderr the messages below quote is complete only once its pipe has closed.
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: limit }, async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) await fn(t);
  }));
}

/**
 * Which occurrences of each point to crash at: the first of every point, and the middle and
 * last of the points inside copies and loops, where a crash leaves work half done.
 */
function chooseCases(trace: string[]): string[] {
  const last = new Map<string, number>();
  for (const line of trace) {
    const at = line.lastIndexOf(':');
    last.set(line.slice(0, at), Math.max(last.get(line.slice(0, at)) ?? 0, Number(line.slice(at + 1))));
  }
  const cases: string[] = [];
  for (const [name, n] of last) {
    const picks = name.endsWith('.block') || name.endsWith('.relinked') ? [1, Math.ceil(n / 2), n] : [1];
    for (const k of new Set(picks)) cases.push(`${name}:${k}`);
  }
  return cases;
}

describe('file SR crash safety', () => {
  let root: string;
  let template: string;
  let srUuid: string;
  let plan: Omit<WorkerPlan, 'path'>;
  let originals: Map<string, string>;
  let sources: Map<string, string>;

  before(async () => {
    root = await mkdtemp(join(await tempBase(), 'islet-crash-'));
    template = join(root, 'template');
    const t = await newSr(template);
    const { vdis } = await buildTree(t.sr);
    originals = await visibleHashes(t.sr);
    await t.sr.detach();
    srUuid = t.srUuid;
    const snap = randomUUID();
    const snap2 = randomUUID();
    const clone = randomUUID();
    // Leaves garbage (c1's base), a hidden node to coalesce (vm's first base under the
    // root) and a leaf to coalesce (vm, once s3 is gone), besides the snapshots and clone.
    // The snapshots are one change: c2 has data of its own (a new base), cs2 has none.
    plan = { srUuid, snapshot: [[vdis.c2!, snap], [vdis.cs2!, snap2]], destroy: [vdis.s1!, vdis.s3!, vdis.cs1!, vdis.c1!], clone: [[vdis.s2!, clone]] };
    sources = new Map([[snap, vdis.c2!], [snap2, vdis.cs2!], [clone, vdis.s2!]]);
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function copyOf(name: string): Promise<string> {
    const dst = join(root, name);
    await exec('cp', ['-a', '--sparse=always', template, dst]);
    return dst;
  }

  /** Every disk reads what it read before; new disks read what their source did. */
  async function checkContents(sr: AttachedSr, label: string): Promise<void> {
    const visible = (await sr.scan()).filter((n) => !n.hidden).map((n) => n.uuid);
    for (const u of originals.keys()) {
      if (!plan.destroy.includes(u)) assert.ok(visible.includes(u), `${label}: ${u} still there`);
    }
    for (const u of visible) {
      const expected = originals.get(u) ?? originals.get(sources.get(u) ?? '');
      assert.ok(expected, `${label}: ${u} is a disk we know`);
      assert.equal(await vdiHash(sr, u), expected, `${label}: content of ${u}`);
    }
  }

  it('a traced run passes every point and leaves a collected tree', async () => {
    const path = await copyOf('traced');
    const trace = join(root, 'trace.txt');
    const r = await runWorker({ ...plan, path }, { ISLET_CRASH_TRACE: trace });
    assert.equal(r.code, 0, r.stderr);
    const sr = await new FileSrDriver().attach(srUuid, { path });
    await checkContents(sr, 'traced');
    const nodes = await sr.scan();
    checkTree(nodes, { collected: true });
    await sr.detach();
    const points = (await readFile(trace, 'utf8')).trim().split('\n');
    const names = new Set(points.map((p) => p.slice(0, p.lastIndexOf(':'))));
    for (const n of ['snapshot.linked', 'coalesce.block', 'coalesce.relinked', 'leaf.block', 'leaf.unhidden', 'destroy.unlinked', 'gc.removed']) {
      assert.ok(names.has(n), `the run passes ${n} (saw ${[...names].join(', ')})`);
    }
  });

  it('a crash at any of >= 20 points loses nothing: recovery and GC restore every disk', async () => {
    const trace = join(root, 'trace.txt');
    const cases = chooseCases((await readFile(trace, 'utf8')).trim().split('\n'));
    assert.ok(cases.length >= 20, `only ${cases.length} crash cases`);
    let i = 0;
    await pool(cases, 2, async (spec) => {
      const path = await copyOf(`crash-${i++}`);
      try {
        const r = await runWorker({ ...plan, path }, { ISLET_CRASH_AT: spec });
        assert.equal(r.signal, 'SIGKILL', `${spec}: the worker died at the point (code ${r.code}, ${r.stderr})`);
        const sr = await new FileSrDriver().attach(srUuid, { path });
        try {
          assert.deepEqual(await readdir(join(path, '.journal')), [], `${spec}: journal recovered`);
          checkTree(await sr.scan());
          await checkContents(sr, `${spec} after recovery`);
          await sr.gc();
          checkTree(await sr.scan(), { collected: true });
          await checkContents(sr, `${spec} after gc`);
        } finally {
          await sr.detach();
        }
      } finally {
        await rm(path, { recursive: true, force: true });
      }
    });
  });

  it('a crash during recovery is recovered by the next attach', async () => {
    // First crash mid-operation; the next worker dies again while its attach recovers.
    const pairs = [
      ['journal.coalesce.relink:1', 'coalesce.relinked:2'],
      ['coalesce.relinked:1', 'coalesce.removed:1'],
      ['journal.leaf-coalesce.swap:1', 'leaf.unhidden:1'],
      ['leaf.unhidden:1', 'leaf.renamed:1'],
      ['snapshot.leaf-replaced:1', 'journal.snapshot.done:1'],
    ];
    let i = 0;
    await pool(pairs, 2, async ([first, second]) => {
      const path = await copyOf(`double-${i++}`);
      try {
        for (const spec of [first!, second!]) {
          const r = await runWorker({ ...plan, path }, { ISLET_CRASH_AT: spec });
          assert.equal(r.signal, 'SIGKILL', `${spec}: died there (code ${r.code}, ${r.stderr})`);
        }
        const sr = await new FileSrDriver().attach(srUuid, { path });
        try {
          await checkContents(sr, `${first} then ${second}`);
          await sr.gc();
          checkTree(await sr.scan(), { collected: true });
          await checkContents(sr, `${first} then ${second}, after gc`);
        } finally {
          await sr.detach();
        }
      } finally {
        await rm(path, { recursive: true, force: true });
      }
    });
  });
});
