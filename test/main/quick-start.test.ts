/**
 * The README's quick start as a new user meets it: a server started without a root
 * password generates one into DIR/root-password (0600), and `xe -pwf DIR/root-password`
 * reads that file as it is (xe's layout: user, then password) to list the host; `npm start`'s
 * relative data directory still gives the host its local SR.
 * Needs a built tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startIslet } from '../helpers/islet-server.js';
import { repoRoot } from '../helpers/repo-root.js';
import { stopChild } from '../helpers/stop-child.js';

const run = promisify(execFile);

test('a generated root password file works with xe -pwf', async () => {
  const islet = await startIslet({ generatedPassword: true, args: ['--spawn-hypervisor', 'false'] });
  try {
    const file = join(islet.dataDir, 'root-password');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const [user, password] = (await readFile(file, 'utf8')).split('\n');
    assert.equal(user, 'root');
    assert.ok(password && password.length >= 12, 'a real password on the second line');
    const { stdout } = await run(process.execPath, [join(repoRoot(), 'bin', 'xe'), '-s', '127.0.0.1', '-p', String(islet.port),
      '-u', 'root', '-pwf', file, 'host-list', '--minimal']);
    assert.match(stdout.trim(), /^[0-9a-f-]{36}$/);
    const wrong = await run(process.execPath, [join(repoRoot(), 'bin', 'xe'), '-s', '127.0.0.1', '-p', String(islet.port),
      '-u', 'root', '-pw', 'not-it', 'host-list']).then(() => 0, (e: { code: number }) => e.code);
    assert.notEqual(wrong, 0, 'a wrong password is refused');
  } finally {
    await islet.stop();
  }
});

test('npm start\'s relative --data-dir ./var gives the host its local SR, the pool\'s default SR', async () => {
  const cwd = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), 'islet-quick-start-'));
  const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'islet'), 'server', '--data-dir', './var', '--listen', '127.0.0.1:0',
    '--root-password', 'quick-pw', '--spawn-hypervisor', 'false'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`islet did not become ready:\n${err}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^ready (\S+)$/m.exec(out);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`islet exited ${code}:\n${err}`)); });
    });
    const xe = (...args: string[]) => run(process.execPath, [join(repoRoot(), 'bin', 'xe'), '-s', '127.0.0.1', '-p', new URL(url).port, '-u', 'root', '-pw', 'quick-pw', ...args]);
    const local = (await xe('sr-list', 'name-label=Local storage', '--minimal')).stdout.trim();
    assert.match(local, /^[0-9a-f-]{36}$/, `a local SR (server log:\n${err})`);
    assert.equal((await xe('pool-list', 'params=default-SR', '--minimal')).stdout.trim(), local);
  } finally {
    await stopChild(child); // not a bare wait for 'exit': a child that died before it was ready has sent it already
    await rm(cwd, { recursive: true, force: true });
  }
});
