/**
 * bin/xe runs the one-file bundle `npm run build` makes (dist/xe.mjs) only while it is up
 * to date with the modules it was made from, and those modules otherwise: a copy of bin/xe
 * over a small dist/ of our own shows which one it loads as the files' times change. And
 * the real bundle, where the build made one, answers as the modules do.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/repo-root.js';

const run = promisify(execFile);

describe('bin/xe and its bundle', () => {
  let dir: string;
  const which = async () => (await run(process.execPath, [join(dir, 'bin', 'xe')])).stdout.trim();
  const setTime = (f: string, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    return utimes(join(dir, f), t, t);
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'islet-xe-bundle-'));
    await mkdir(join(dir, 'bin'));
    await mkdir(join(dir, 'dist', 'src', 'cli'), { recursive: true });
    await copyFile(join(repoRoot(), 'bin', 'xe'), join(dir, 'bin', 'xe'));
    const mod = (name: string) => `export async function main() { process.stdout.write('${name}\\n'); return 0; }\n`;
    await writeFile(join(dir, 'dist', 'src', 'cli', 'main.js'), mod('modules'));
    await writeFile(join(dir, 'dist', 'src', 'cli', 'printer.js'), '');
    await writeFile(join(dir, 'dist', 'xe.mjs'), mod('bundle'));
    await writeFile(join(dir, 'dist', 'xe.inputs.json'), JSON.stringify(['dist/src/cli/main.js', 'dist/src/cli/printer.js']));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('loads the bundle when it is newer than every module it holds, the modules otherwise', async () => {
    await setTime('dist/src/cli/main.js', 60);
    await setTime('dist/src/cli/printer.js', 60);
    await setTime('dist/xe.mjs', 30);
    assert.equal(await which(), 'bundle');
    // A module rebuilt since (tsc without the bundle step): the bundle is stale.
    await setTime('dist/src/cli/printer.js', 10);
    assert.equal(await which(), 'modules');
    await setTime('dist/xe.mjs', 5);
    assert.equal(await which(), 'bundle');
    // An input gone, or no list of inputs: never trust the bundle.
    await rm(join(dir, 'dist', 'src', 'cli', 'printer.js'));
    assert.equal(await which(), 'modules');
    await writeFile(join(dir, 'dist', 'src', 'cli', 'printer.js'), '');
    await setTime('dist/src/cli/printer.js', 60);
    assert.equal(await which(), 'bundle');
    await rm(join(dir, 'dist', 'xe.inputs.json'));
    assert.equal(await which(), 'modules');
  });

  const bundle = join(repoRoot(), 'dist', 'xe.mjs');
  const built = existsSync(bundle);
  if (!built && process.env.CI) throw new Error('npm run build made no dist/xe.mjs');
  it('the real bundle answers as the modules do', { skip: built ? false : 'no dist/xe.mjs (npm run build makes it)' }, async () => {
    const viaBundle = (await import(bundle)) as { main: (a: string[], io: unknown) => Promise<number> };
    const viaModules = (await import(join(repoRoot(), 'dist', 'src', 'cli', 'main.js'))) as typeof viaBundle;
    for (const args of [['help'], ['help', 'vm-list'], ['no-such-command']]) {
      const outs = await Promise.all([viaBundle, viaModules].map(async (m) => {
        let out = '';
        const code = await m.main(args, { out: (s: string) => { out += s; }, err: (s: string) => { out += s; }, env: { HOME: dir } });
        return { code, out };
      }));
      assert.deepEqual(outs[0], outs[1], `xe ${args.join(' ')}`);
      assert.ok(outs[0]!.out.length > 0);
    }
    assert.ok((await stat(bundle)).size > 100_000, 'the bundle holds the CLI');
  });
});
