/**
 * `islet pool up --update-key FILE` (repeatable), as a new user types it: the keys are
 * trusted by the pool it makes (listed by `xe islet-update-key-list`), a bad key file stops
 * the first start before any host exists, and on a later start of the same pool the flag is
 * ignored with a message saying how keys are managed instead.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPool, type IsletPool } from '../helpers/islet-pool.js';
import { repoRoot } from '../helpers/repo-root.js';
import { UpdateFixture } from './update-fixture.js';

/** Runs `bin/islet` to its end. */
function islet(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'islet'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('islet pool up --update-key', { timeout: 300_000 }, () => {
  let fx: UpdateFixture;
  let dir: string;
  let pool: IsletPool | undefined;
  before(async () => {
    fx = await UpdateFixture.create();
    dir = await mkdtemp(join(tmpdir(), 'islet-poolkeys-'));
  });
  after(async () => {
    await pool?.stop();
    await rm(dir, { recursive: true, force: true });
    await fx?.close();
  });

  it('refuses a missing or secret key file before making anything', async () => {
    const fresh = join(dir, 'refused');
    const missing = await islet(['pool', 'up', '--hosts', '1', '--data-dir', fresh, '--base-port', '0', '--update-key', join(dir, 'nope.asc')]);
    assert.equal(missing.code, 1, missing.err);
    assert.match(missing.err, /--update-key .*nope\.asc: no such file/);
    const secret = join(dir, 'secret.asc');
    await writeFile(secret, await fx.gpg.exportSecret(fx.key));
    const bad = await islet(['pool', 'up', '--hosts', '1', '--data-dir', fresh, '--base-port', '0', '--update-key', secret]);
    assert.equal(bad.code, 1, bad.err);
    assert.match(bad.err, /secret key/);
    assert.equal(existsSync(join(fresh, 'host0')), false, 'no host was made');
  });

  it('the pool it makes trusts the keys; a later start ignores the flag and says so', async () => {
    const second = await fx.gpg.genKey('Second Signer <second@example.com>', 'rsa2048');
    const secondFile = join(fx.work, 'second.asc');
    await writeFile(secondFile, await fx.gpg.exportPublic(second));
    const home = join(dir, 'pool');
    pool = await startPool({ hosts: 1, dir: home, args: ['--update-key', fx.keyFile, `--update-key=${secondFile}`] });
    const port = String(new URL(pool.masterUrl).port);
    const conn = ['-s', '127.0.0.1', '-p', port, '-u', 'root', '-pw', pool.rootPassword];
    const list = await fx.xe(['islet-update-key-list', ...conn, '--minimal']);
    assert.equal(list.code, 0, list.err);
    assert.deepEqual(list.out.trim().split(',').sort(), [fx.key.fingerprint, second.fingerprint].sort());
    await pool.stop();
    pool = undefined;

    const other = join(fx.work, 'third.asc');
    await writeFile(other, await fx.gpg.exportPublic(await fx.gpg.genKey('Third <third@example.com>', 'ed25519')));
    pool = await startPool({ hosts: 1, dir: home, args: ['--update-key', other] });
    assert.match(pool.stderr(), /--update-key ignored: the pool already exists.*islet-update-key-add/);
    const again = await fx.xe(['islet-update-key-list', '-s', '127.0.0.1', '-p', String(new URL(pool.masterUrl).port), '-u', 'root', '-pw', pool.rootPassword, '--minimal']);
    assert.deepEqual(again.out.trim().split(',').sort(), [fx.key.fingerprint, second.fingerprint].sort());
  });
});
