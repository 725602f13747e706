/**
 * @module
 * Runs a source module of the repository as its own Node process the same way the tests
 * themselves run: the compiled `.js` under `dist/` when the tests were compiled, the `.ts`
 * with the tsx loader when they run under tsx. Tests name the module by its source path
 * (`sims/hypervisor/hypervisor-sim.ts`) and get the node arguments that run it.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './repo-root.js';

/** True when this very file runs as TypeScript (tsx), false when compiled. */
export const runningTs = import.meta.url.endsWith('.ts');

function tsxLoader(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return 'tsx';
  }
}

/** Node arguments that run `sourcePath` (relative to the repository root, ending in `.ts`). */
export function nodeArgsFor(sourcePath: string): string[] {
  if (!sourcePath.endsWith('.ts')) throw new Error(`expected a .ts source path, got ${sourcePath}`);
  const root = repoRoot();
  if (runningTs) return ['--import', tsxLoader(), join(root, sourcePath)];
  return [join(root, 'dist', sourcePath.replace(/\.ts$/, '.js'))];
}

/** Spawns `node <runnable form of sourcePath> ...args`. */
export function spawnModule(sourcePath: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, [...nodeArgsFor(sourcePath), ...args], { cwd: repoRoot(), ...opts });
}
