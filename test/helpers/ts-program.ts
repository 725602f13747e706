/**
 * @module
 * The project's own compiler settings, for tests that run the TypeScript compiler on a
 * fixture to show what the types accept and refuse (test/architecture/).
 */
import { join } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './repo-root.js';

/** tsconfig.json's options, without emitting and without an incremental build file. */
export function projectCompilerOptions(): ts.CompilerOptions {
  const root = repoRoot();
  const { config } = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  return { ...ts.parseJsonConfigFileContent(config, ts.sys, root).options, noEmit: true, incremental: false };
}
