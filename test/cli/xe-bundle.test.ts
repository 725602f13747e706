/**
 * bin/xe runs the one-file bundle `npm run build` makes (dist/xe.cjs) only while it is up
 * to date with the modules it was made from, and those modules otherwise: a copy of bin/xe
 * over a small dist/ of our own shows which one it loads as the files' times change. It
 * compiles the bundle with a V8 code cache (dist/xe.cjs.cache) that the first run writes,
 * later runs keep, and a cache made for another bundle, or one V8 rejects, is replaced.
 * The benches' freshness test (bench/xe-bundle.ts) agrees with bin/xe's at every step.
 * And the real bundle, where the build made one, answers as the modules do, and loading it
 * loads none of the built-ins only some commands need. Run as a program, bin/xe starts Node
 * without NODE_EXTRA_CA_CERTS (Node would read those certificates before any JavaScript,
 * for nothing: xe verifies no certificate) and gives the variable back to xe; each set of
 * Node options keeps its own code cache (V8 refuses a cache made under other flags).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
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
    // Else V8 holds all of it as a two-byte string (scripts/bundle-xe.mjs).
    assert.doesNotMatch(await readFile(bundle, 'utf8'), /[^\x00-\x7f]/, 'the bundle is all ASCII');
  });
});

describe('bin/xe run as a program', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'islet-xe-launch-'));
    await mkdir(join(dir, 'bin'));
    await mkdir(join(dir, 'dist'));
    await copyFile(join(repoRoot(), 'bin', 'xe'), join(dir, 'bin', 'xe'));
    await chmod(join(dir, 'bin', 'xe'), 0o755);
    await copyFile(join(repoRoot(), 'bin', 'package.json'), join(dir, 'bin', 'package.json'));
    // A bundle that shows what xe sees: its arguments and the certificate variables.
    await writeFile(join(dir, 'dist', 'xe.cjs'), `exports.main = async function main(args) {
  process.stdout.write(JSON.stringify({ args, extra: process.env.NODE_EXTRA_CA_CERTS ?? null, aside: process.env.ISLET_XE_NODE_EXTRA_CA_CERTS ?? null, flags: process.execArgv }));
  return 3;
};
`);
    await writeFile(join(dir, 'dist', 'xe.inputs.json'), '[]');
    await symlink(join(dir, 'bin', 'xe'), join(dir, 'xe-link'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  /** Runs `file` (bin/xe itself, or node on it) and returns its exit code, what xe saw, and stderr. */
  const launch = (file: string, args: string[], env: NodeJS.ProcessEnv) => new Promise<{ code: number | null; seen: unknown; err: string }>((resolve, reject) => {
    execFile(file, args, { env, timeout: 30_000 }, (e, stdout, stderr) => {
      const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
      if (e && code === null) return reject(e);
      try {
        resolve({ code, seen: JSON.parse(stdout), err: stderr });
      } catch {
        reject(new Error(`${file} printed ${JSON.stringify(stdout)}; stderr ${JSON.stringify(stderr)}`));
      }
    });
  });
  const baseEnv = () => {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    delete env.ISLET_XE_NODE_EXTRA_CA_CERTS;
    return env;
  };

  it('starts Node without NODE_EXTRA_CA_CERTS and gives xe the variable back', async () => {
    // A file Node cannot read: Node warns on stderr when it tries to at start-up.
    const missing = join(dir, 'no-such-ca.pem');
    const direct = await launch(join(dir, 'bin', 'xe'), ['vm-list', 'name-label=a b', '--minimal'], { ...baseEnv(), NODE_EXTRA_CA_CERTS: missing });
    assert.equal(direct.code, 3, 'the exit code is xe\'s');
    assert.deepEqual(direct.seen, { args: ['vm-list', 'name-label=a b', '--minimal'], extra: missing, aside: null, flags: PROGRAM_FLAGS });
    assert.doesNotMatch(direct.err, /extra certs/i, 'Node read NODE_EXTRA_CA_CERTS while starting');
    // The check sees Node's reading when it happens: `node bin/xe` cannot avoid it.
    const viaNode = await launch(process.execPath, [join(dir, 'bin', 'xe'), 'host-list'], { ...baseEnv(), NODE_EXTRA_CA_CERTS: missing });
    assert.deepEqual(viaNode.seen, { args: ['host-list'], extra: missing, aside: null, flags: [] });
    assert.match(viaNode.err, /extra certs/i);
  });

  it('leaves the environment alone when the variable is not set, and works through a symlink', async () => {
    for (const file of [join(dir, 'bin', 'xe'), join(dir, 'xe-link')]) {
      const r = await launch(file, ['help'], baseEnv());
      assert.deepEqual(r.seen, { args: ['help'], extra: null, aside: null, flags: PROGRAM_FLAGS }, file);
      assert.equal(r.code, 3);
    }
    const empty = await launch(join(dir, 'bin', 'xe'), [], { ...baseEnv(), NODE_EXTRA_CA_CERTS: '' });
    assert.deepEqual(empty.seen, { args: [], extra: '', aside: null, flags: PROGRAM_FLAGS });
  });

  it('delivers all that xe prints through a pipe, though it ends the process itself', async () => {
    const big = join(dir, 'big');
    await mkdir(join(big, 'bin'), { recursive: true });
    await mkdir(join(big, 'dist'));
    await copyFile(join(dir, 'bin', 'xe'), join(big, 'bin', 'xe'));
    await copyFile(join(dir, 'bin', 'package.json'), join(big, 'bin', 'package.json'));
    await writeFile(join(big, 'dist', 'xe.inputs.json'), '[]');
    // Four MiB in lines, far more than a pipe holds: the reader below takes its time.
    await writeFile(join(big, 'dist', 'xe.cjs'), `exports.main = async function main() {
  const line = 'x'.repeat(1023) + '\\n';
  for (let i = 0; i < 4096; i++) process.stdout.write(line);
  return 0;
};
`);
    const child = spawn(join(big, 'bin', 'xe'), [], { env: baseEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    let got = 0;
    child.stdout.on('data', (d: Buffer) => {
      got += d.length;
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 1);
    });
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 0);
    assert.equal(got, 4096 * 1024, 'every byte printed arrived');
  });

  it('keeps one code cache per set of Node options, so a run with V8 flags never replaces the plain one', async () => {
    const caches = async () => (await readdir(join(dir, 'dist'))).filter((f) => f.endsWith('.cache')).sort();
    const timeOf = async (f: string) => (await stat(join(dir, 'dist', f))).mtimeMs;
    const flagged = [V8_FLAG, join(dir, 'bin', 'xe'), 'help'];
    for (const f of await caches()) await rm(join(dir, 'dist', f));
    await launch(join(dir, 'bin', 'xe'), ['help'], baseEnv());
    await launch(process.execPath, flagged, baseEnv());
    const made = await caches();
    assert.deepEqual(made, ['xe.cjs.cache', 'xe.cjs.min-semi-space-size=16.cache']);
    const times = await Promise.all(made.map(timeOf));
    // Each kind of start again, in the other order: both caches are taken as they are.
    await launch(process.execPath, flagged, baseEnv());
    await launch(join(dir, 'bin', 'xe'), ['help'], baseEnv());
    assert.deepEqual(await caches(), made);
    assert.deepEqual(await Promise.all(made.map(timeOf)), times, 'a cache was written again: V8 refused it');
  });
});

/** What the shell's line of bin/xe gives Node (see its header): nothing. */
const PROGRAM_FLAGS: string[] = [];
/** A V8 flag that V8 counts in a code cache's flag check. */
const V8_FLAG = '--min-semi-space-size=16';
