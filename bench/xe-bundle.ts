/**
 * @module
 * The xe the benches time is the one users run: `npm run build` (and `npm install`, through
 * `prepare`) bundles it into dist/xe.cjs, which bin/xe loads in one piece. A `tsc` run after
 * the last bundling leaves the bundle older than the modules it holds, and bin/xe then
 * rightly falls back to loading those ~120 modules one by one: a development path that
 * costs xe some 70 ms of CPU per command on a loaded machine. A bench started after
 * `npx tsc` alone would time that fallback. So the benches that run xe bundle it again
 * first when it is stale (scripts/bundle-xe.mjs, as `npm run build:xe`), and say so.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Whether dist/xe.cjs exists and no module it holds is newer: the test bin/xe makes. */
export function xeBundleFresh(root: string): boolean {
  try {
    const bundled = statSync(join(root, 'dist', 'xe.cjs')).mtimeMs;
    const inputs = JSON.parse(readFileSync(join(root, 'dist', 'xe.inputs.json'), 'utf8')) as string[];
    return inputs.every((f) => statSync(join(root, f)).mtimeMs <= bundled);
  } catch {
    return false;
  }
}

/** Bundles xe again when its bundle is missing or stale; prints a line when it did. */
export async function ensureXeBundle(root: string): Promise<void> {
  if (xeBundleFresh(root)) return;
  await promisify(execFile)(process.execPath, [join(root, 'scripts', 'bundle-xe.mjs')], { cwd: root });
  if (!xeBundleFresh(root)) throw new Error('scripts/bundle-xe.mjs ran but dist/xe.cjs is still older than its inputs');
  console.log('  (xe bundled again first: dist/xe.cjs was older than its modules, as after a tsc run; npm run build does the same)');
}
