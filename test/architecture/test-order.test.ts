/**
 * The order `npm test` hands node's runner (scripts/run-tests.mjs): every file exactly
 * once; the longest first, so that none ends the run alone; and, replaying the runner's
 * two lanes with the same weights, a long file never starts beside another long one while
 * short files are left to run beside it. And the files it runs are the test files, all of
 * them: a fixture or helper module run as a file tests nothing yet counted as a passing test,
 * so no file but a `*.test.ts` may declare tests at its top level, where they would never run.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { repoRoot } from '../helpers/repo-root.js';

type Plan = (files: string[], weightOf: (f: string) => number, lanes?: number) => string[];

/** Every file under `dir`, relative to it. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), base) : [relative(base, join(dir, e.name))]);
}

test('npm test runs every compiled test file and no fixture or helper module', async () => {
  const { testFiles } = (await import(pathToFileURL(join(repoRoot(), 'scripts/run-tests.mjs')).href)) as { testFiles: (dir: string) => string[] };
  const dist = join(repoRoot(), 'dist', 'test');
  const js = walk(dist).filter((f) => f.endsWith('.js'));
  const run = new Set(testFiles(dist).map((f) => relative(dist, f)));
  const sources = walk(join(repoRoot(), 'test')).filter((f) => f.endsWith('.test.ts'));
  assert.ok(sources.length > 100, `${sources.length} test sources`);
  for (const f of sources) assert.ok(run.has(f.replace(/\.ts$/, '.js')), `${f} is not run`);
  const extra = [...run].filter((f) => !f.endsWith('.test.js'));
  assert.deepEqual(extra, [], 'files run that are not tests');
  assert.ok(js.length > run.size, 'the check sees the helper modules it leaves out');
});

test('no file under test/ but a *.test.ts declares tests at its top level', () => {
  const root = join(repoRoot(), 'test');
  const offenders = walk(root)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .filter((f) => /^(describe|it|test|suite|before|after)\(/m.test(readFileSync(join(root, f), 'utf8')));
  assert.deepEqual(offenders, [], 'tests declared where npm test never runs them');
});

test('long files start early, never two at once while short ones are left', async () => {
  const { plan } = (await import(pathToFileURL(join(repoRoot(), 'scripts/run-tests.mjs')).href)) as { plan: Plan };
  const weights = new Map<string, number>([['long-a', 75], ['long-b', 66], ['long-c', 43], ['mid', 12]]);
  for (let i = 0; i < 30; i++) weights.set(`short-${i}`, 1 + (i % 5));
  const files = [...weights.keys()].sort();
  const order = plan(files, (f) => weights.get(f)!);
  assert.deepEqual([...order].sort(), files, 'every file once');
  assert.equal(order[0], 'long-a');

  const lanes = [{ free: 0, long: false }, { free: 0, long: false }];
  const shortsLeft = (from: number) => order.slice(from).some((f) => weights.get(f)! < 20);
  order.forEach((f, i) => {
    const lane = lanes[0]!.free <= lanes[1]!.free ? lanes[0]! : lanes[1]!;
    const other = lanes[0] === lane ? lanes[1]! : lanes[0]!;
    const long = weights.get(f)! >= 20;
    if (long && other.long && other.free > lane.free) assert.ok(!shortsLeft(i), `${f} starts beside another long file`);
    lane.free += weights.get(f)!;
    lane.long = long;
  });
  const makespan = Math.max(lanes[0]!.free, lanes[1]!.free);
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  assert.ok(makespan <= total / 2 + 5, `the two lanes end together: ${makespan} s for ${total} s of files`);
});
