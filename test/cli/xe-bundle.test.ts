/**
 * bin/xe runs the one-file bundle `npm run build` makes (dist/xe.cjs) only while it is up
 * to date with the modules it was made from, and those modules otherwise: a copy of bin/xe
 * over a small dist/ of our own shows which one it loads as the files' times change. It
 * compiles the bundle with a V8 code cache (dist/xe.cjs.cache) that the first run writes,
 * later runs keep, and a cache made for another bundle, or one V8 rejects, is replaced.
 * The benches' freshness test (bench/xe-bundle.ts) agrees with bin/xe's at every step.
 * And the real bundle, where the build made one, answers as the modules do, and loading it
 * loads none of the built-ins only some commands need.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/repo-root.js';
import { xeBundleFresh } from '../../bench/xe-bundle.js';

const run = promisify(execFile);

describe('bin/xe and its bundle', () => {
  let dir: string;
  // Each answer is checked against the benches' own test (they bundle again when it says stale).
  const which = async () => {
    const loaded = (await run(process.execPath, [join(dir, 'bin', 'xe')])).stdout.trim();
    assert.equal(xeBundleFresh(dir), loaded === 'bundle', `the benches' freshness test disagrees with bin/xe, which loaded the ${loaded}`);
    return loaded;
  };
  const setTime = (f: string, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    return utimes(join(dir, f), t, t);
  };
  const cacheFile = () => join(dir, 'dist', 'xe.cjs.cache');
  /** The stamp bin/xe puts before a cache: the bundle's size and time. */
  const stampOf = async () => {
    const st = await stat(join(dir, 'dist', 'xe.cjs'));
    return `${st.size} ${st.mtimeMs}\n`;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'islet-xe-bundle-'));
    await mkdir(join(dir, 'bin'));
    await mkdir(join(dir, 'dist', 'src', 'cli'), { recursive: true });
    await copyFile(join(repoRoot(), 'bin', 'xe'), join(dir, 'bin', 'xe'));
    await copyFile(join(repoRoot(), 'bin', 'package.json'), join(dir, 'bin', 'package.json'));
    await writeFile(join(dir, 'dist', 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(join(dir, 'dist', 'src', 'cli', 'main.js'), "export async function main() { process.stdout.write('modules\\n'); return 0; }\n");
    await writeFile(join(dir, 'dist', 'src', 'cli', 'printer.js'), '');
    // A bundle with some functions worth caching.
    await writeFile(join(dir, 'dist', 'xe.cjs'), [
      'function word(n) { return ["bun", "dle"][n]; }',
      "exports.main = async function main() { process.stdout.write(word(0) + word(1) + '\\n'); return 0; };",
      '',
    ].join('\n'));
    await writeFile(join(dir, 'dist', 'xe.inputs.json'), JSON.stringify(['dist/src/cli/main.js', 'dist/src/cli/printer.js']));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('loads the bundle when it is newer than every module it holds, the modules otherwise', async () => {
    await setTime('dist/src/cli/main.js', 60);
    await setTime('dist/src/cli/printer.js', 60);
    await setTime('dist/xe.cjs', 30);
    assert.equal(await which(), 'bundle');
    // A module rebuilt since (tsc without the bundle step): the bundle is stale.
    await setTime('dist/src/cli/printer.js', 10);
    assert.equal(await which(), 'modules');
    await setTime('dist/xe.cjs', 5);
    assert.equal(await which(), 'bundle');
    // An input gone, or no list of inputs: never trust the bundle.
    await rm(join(dir, 'dist', 'src', 'cli', 'printer.js'));
    assert.equal(await which(), 'modules');
    await writeFile(join(dir, 'dist', 'src', 'cli', 'printer.js'), '');
    await setTime('dist/src/cli/printer.js', 60);
    assert.equal(await which(), 'bundle');
    await rm(join(dir, 'dist', 'xe.inputs.json'));
    assert.equal(await which(), 'modules');
    await writeFile(join(dir, 'dist', 'xe.inputs.json'), JSON.stringify(['dist/src/cli/main.js', 'dist/src/cli/printer.js']));
    await setTime('dist/xe.cjs', 5);
    assert.equal(await which(), 'bundle');
  });

  it('writes a code cache for the bundle, keeps it while V8 takes it, and replaces one for another bundle or a broken one', async () => {
    await rm(cacheFile(), { force: true });
    assert.equal(await which(), 'bundle');
    const first = await readFile(cacheFile());
    assert.ok(first.subarray(0, 64).toString('latin1').startsWith(await stampOf()), 'the cache starts with the bundle\'s stamp');
    assert.ok(first.length > 100, `a cache of ${first.length} bytes`);
    const made = (await stat(cacheFile())).mtimeMs;
    assert.equal(await which(), 'bundle');
    assert.equal((await stat(cacheFile())).mtimeMs, made, 'an accepted cache is not written again');

    // A cache made for another bundle of the same length (V8 would take it): never used.
    await writeFile(cacheFile(), Buffer.concat([Buffer.from('1 2\n'), first.subarray((await stampOf()).length)]));
    assert.equal(await which(), 'bundle');
    assert.ok((await readFile(cacheFile())).toString('latin1').startsWith(await stampOf()), 'replaced by one for this bundle');

    // The right stamp over bytes V8 rejects: the bundle still runs and the cache is made anew.
    await writeFile(cacheFile(), Buffer.concat([Buffer.from(await stampOf()), Buffer.alloc(200, 7)]));
    assert.equal(await which(), 'bundle');
    const remade = await readFile(cacheFile());
    assert.ok(remade.toString('latin1').startsWith(await stampOf()) && remade.length > 300, 'made anew');
    const remadeAt = (await stat(cacheFile())).mtimeMs;
    assert.equal(await which(), 'bundle');
    assert.equal((await stat(cacheFile())).mtimeMs, remadeAt, 'and taken by the next run');
  });

  const bundle = join(repoRoot(), 'dist', 'xe.cjs');
  const built = existsSync(bundle);
  if (!built && process.env.CI) throw new Error('npm run build made no dist/xe.cjs');
  it('the real bundle answers as the modules do', { skip: built ? false : 'no dist/xe.cjs (npm run build makes it)' }, async () => {
    const viaBundle = createRequire(import.meta.url)(bundle) as { main: (a: string[], io: unknown) => Promise<number> };
    const viaModules = (await import(join(repoRoot(), 'dist', 'src', 'cli', 'main.js'))) as typeof viaBundle;
    for (const args of [['help'], ['help', 'vm-list'], ['help', 'host-param-get'], ['no-such-command'], ['vm-no-such']]) {
      const outs = await Promise.all([viaBundle, viaModules].map(async (m) => {
        let out = '';
        const code = await m.main(args, { out: (s: string) => { out += s; }, err: (s: string) => { out += s; }, env: { HOME: dir } });
        return { code, out };
      }));
      assert.deepEqual(outs[0], outs[1], `xe ${args.join(' ')}`);
      assert.ok(outs[0]!.out.length > 0);
    }
    // Loading the bundle loads no built-in that only some commands need (TLS, file handles,
    // prompts): each is required when first used, which keeps every short command's start short.
    const probe = join(dir, 'load-bundle.cjs');
    await writeFile(probe, `require(${JSON.stringify(bundle)});
process.stdout.write(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).join('\\n'));
`);
    const { stdout } = await run(process.execPath, [probe]);
    const loaded = new Set(stdout.split('\n').map((m) => m.slice('NativeModule '.length)));
    assert.ok(loaded.has('http'), 'the check sees what the bundle loads');
    for (const late of ['https', 'tls', 'crypto', 'fs/promises', 'readline', 'readline/promises', 'os']) {
      assert.ok(!loaded.has(late), `loading the bundle loaded node:${late}`);
    }
    assert.ok((await stat(bundle)).size > 100_000, 'the bundle holds the CLI');
    assert.doesNotMatch(await readFile(bundle, 'utf8'), /\bimport\(/, 'no dynamic import() in the bundle: bin/xe compiles it as a script, where import() fails');
  });
});
