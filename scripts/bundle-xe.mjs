#!/usr/bin/env node
// Bundles the compiled `xe` (dist/src/cli/main.js and every module it imports) into one
// CommonJS file, dist/xe.cjs, which bin/xe loads. xe runs once per command, so its start-up
// is most of its cost on a small pool: resolving, reading and compiling some seventy
// modules one by one takes longer than one file holding them all. CommonJS rather than an
// ES module because bin/xe compiles it with V8's code cache (which Node 20 offers for
// scripts only), and because in a CommonJS bundle the built-in modules a command needs
// (readline, fs/promises, stream/promises…) are required when that command's module is
// first used instead of all at start. The bundle's inputs are listed in
// dist/xe.inputs.json; bin/xe falls back to the modules themselves when any of them is newer
// than the bundle (a `tsc` run since the last `npm run build`), so it never runs stale code.
import { readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const result = await build({
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/xe.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  metafile: true,
  logLevel: 'warning',
  // Written below through a temporary file and a rename, so an xe starting meanwhile (a
  // bench bundling again under a running test) reads the old bundle or the new, never half.
  write: false,
});
const [out] = result.outputFiles;
// bin/xe compiles the bundle as a script, where a dynamic import() fails at run time: built-in
// modules needed late are required (src/client/lazy-builtin.ts), our own are bundled.
if (/\bimport\(/.test(out.text)) {
  throw new Error('dist/xe.cjs holds a dynamic import() of a module left outside the bundle; bin/xe cannot run it');
}
writeFileSync('dist/xe.inputs.json', `${JSON.stringify(Object.keys(result.metafile.inputs), null, 1)}\n`);
// All ASCII, so that V8 holds the source as a one-byte string: a single other character makes
// the whole 400 KB a two-byte string, twice the memory, and here every fresh page costs (some
// 150 page faults per command). esbuild escapes such characters in code but leaves comments
// as written; a \u escape is the same character in any place one could be left, and mere text
// in a comment.
const ascii = out.text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
writeFileSync(`dist/xe.cjs.${process.pid}`, ascii);
renameSync(`dist/xe.cjs.${process.pid}`, 'dist/xe.cjs');
// What an older build left: the ES-module bundle and code caches made for another bundle
// (one per set of Node options xe was started with; see bin/xe).
rmSync('dist/xe.mjs', { force: true });
for (const f of readdirSync('dist')) if (/^xe\.cjs(\..+)?\.cache$/.test(f)) rmSync(`dist/${f}`, { force: true });
