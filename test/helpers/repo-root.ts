/**
 * @module
 * Finds the repository root from a test file, whether it runs from `test/` under tsx or
 * from `dist/test/` after compilation, and the shared folder cloned beside it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'islet') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
}

/** `shared/` beside the repository (or $ISLET_SHARED_DIR). */
export function sharedDir(): string {
  const env = process.env.ISLET_SHARED_DIR;
  if (env) return resolve(env);
  return resolve(repoRoot(), '..', 'shared');
}
