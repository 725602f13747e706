#!/usr/bin/env node
// Bundles the compiled `xe` (dist/src/cli/main.js and every module it imports) into one
// file, dist/xe.mjs, which bin/xe loads. xe runs once per command, so its start-up is most
// of its cost on a small pool: resolving, reading and compiling some seventy modules one by
// one takes longer than one file holding them all. The bundle's inputs are listed in
// dist/xe.inputs.json; bin/xe falls back to the modules themselves when any of them is newer
// than the bundle (a `tsc` run since the last `npm run build`), so it never runs stale code.
import { writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const result = await build({
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/xe.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  metafile: true,
  logLevel: 'warning',
});
writeFileSync('dist/xe.inputs.json', `${JSON.stringify(Object.keys(result.metafile.inputs), null, 1)}\n`);
