/**
 * The README's quick start as a new user meets it: a server started without a root
 * password generates one into DIR/root-password (0600), and `xe -pwf DIR/root-password`
 * reads that file as it is (xe's layout: user, then password) to list the host.
 * Needs a built tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startIslet } from '../helpers/islet-server.js';
import { repoRoot } from '../helpers/repo-root.js';

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
