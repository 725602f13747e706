import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { extractHooks, extractPayload, verifyAndExtract } from '../../../src/updates/package/extract-payload.js';
import { verifyUpdateFile } from '../../../src/updates/package/verify-update.js';
import { GpgHome, run, type GpgKey } from './gpg-home.js';
import { UPDATE_UUID, handBuild, type HandBuildOptions } from './hand-build.js';
import { rawZip } from './raw-zip.js';
import { assertRefused } from './refusal.js';

describe('verifying and extracting an update built with zip and gpg alone', () => {
  let gpg: GpgHome;
  let root: string;
  let rsa: GpgKey;
  let ed: GpgKey;
  let trusted: string[];
  let n = 0;

  before(async () => {
    gpg = await GpgHome.create();
    root = await mkdtemp(join(tmpdir(), 'islet-verify-'));
    rsa = await gpg.genKey('Islet Updates <updates@example.com>', 'rsa2048');
    ed = await gpg.genKey('Islet Ed25519 <ed@example.com>', 'ed25519');
    trusted = [await gpg.exportPublic(rsa)];
  });
  after(async () => {
    await gpg.close();
    await rm(root, { recursive: true, force: true });
  });

  const work = async () => { const d = join(root, `w${++n}`); await mkdir(d); return d; };
  const build = async (o: Partial<HandBuildOptions> = {}) => handBuild({ gpg, key: rsa, work: await work(), ...o });

  /** The refusal must come with the right error, and leave neither the target nor a partial copy. */
  async function refusedWithNothingExtracted(path: string, code: 'INVALID_PATCH' | 'INVALID_PATCH_WITH_LOG', reason: RegExp, keys = trusted) {
    const parent = await work();
    const target = join(parent, 'installed');
    await assertRefused(verifyAndExtract(path, keys, target), code, reason);
    assert.equal(existsSync(target), false, 'nothing extracted');
    assert.deepEqual(await readdir(parent), [], 'no partial extraction left behind');
    await assertRefused(verifyUpdateFile(path, keys), code, reason);
  }

  it('accepts an RSA-signed update and extracts its payload with the listed modes', async () => {
    const path = await build();
    const v = await verifyUpdateFile(path, trusted);
    assert.equal(v.fingerprint, rsa.fingerprint);
    assert.equal(v.manifest.uuid, UPDATE_UUID);
    assert.deepEqual(v.manifest.after_apply_guidance, ['restartXAPI']);
    assert.deepEqual(v.entries.map((e) => [e.path, e.size, e.mode.toString(8)]), [
      ['payload/opt/islet/VERSION', 10, '644'],
      ['payload/opt/islet/bin/isl-fix', 39, '755'],
      ['hooks/precheck', 17, '755'],
      ['hooks/apply', 17, '755'],
    ]);
    const target = join(await work(), 'root');
    assert.deepEqual((await extractPayload(path, v, target)).sort(), ['opt/islet/VERSION', 'opt/islet/bin/isl-fix']);
    assert.equal(await readFile(join(target, 'opt/islet/VERSION'), 'utf8'), 'XS602E006\n');
    assert.equal((await stat(join(target, 'opt/islet/bin/isl-fix'))).mode & 0o7777, 0o755);
    assert.equal((await stat(join(target, 'opt/islet/VERSION'))).mode & 0o7777, 0o644);
    assert.equal((await stat(join(target, 'opt/islet'))).mode & 0o7777, 0o755);
    assert.equal(existsSync(join(target, 'hooks')), false, 'hooks are not part of the payload');
    const hooks = join(await work(), 'hooks');
    assert.deepEqual((await extractHooks(path, v, hooks)).sort(), ['apply', 'precheck']);
    assert.equal((await stat(join(hooks, 'apply'))).mode & 0o777, 0o755);
  });

  it('accepts an Ed25519-signed update', async () => {
    const path = await build({ key: ed });
    const v = await verifyUpdateFile(path, [await gpg.exportPublic(ed), ...trusted]);
    assert.equal(v.fingerprint, ed.fingerprint);
  });

  it('accepts the distribution zip holding the .xsupdate (and a readme)', async () => {
    const path = await build({ wrap: true });
    await writeFile(join(path, '..', 'README.txt'), 'Hotfix XS602E006 for XenServer 6.0.2\n');
    await run('zip', ['-q', '-j', path, join(path, '..', 'README.txt')]);
    const target = join(await work(), 'root');
    const v = await verifyAndExtract(path, trusted, target);
    assert.equal(v.manifest.name_label, 'XS602E006');
    assert.equal(await readFile(join(target, 'opt/islet/VERSION'), 'utf8'), 'XS602E006\n');
  });

  it('refuses an unsigned update', async () => {
    await refusedWithNothingExtracted(await build({ unsigned: true }), 'INVALID_PATCH', /unsigned/);
  });

  it('refuses an update signed by a key the host does not trust', async () => {
    await refusedWithNothingExtracted(await build({ key: ed }), 'INVALID_PATCH', new RegExp(`not signed by a trusted key .*${ed.fingerprint.slice(-16)}`));
  });

  it('refuses an update when no key is trusted', async () => {
    await refusedWithNothingExtracted(await build(), 'INVALID_PATCH', /no trusted keys/, []);
  });

  it('refuses a payload changed after signing (hash mismatch)', async () => {
    const path = await build({ afterSign: (pkg) => appendFile(join(pkg, 'payload/opt/islet/bin/isl-fix'), 'rm -rf /\n') });
    await refusedWithNothingExtracted(path, 'INVALID_PATCH_WITH_LOG', /^payload\/opt\/islet\/bin\/isl-fix: SHA-256 [0-9a-f]{64} differs/);
  });

  it('refuses update.json changed after signing', async () => {
    const path = await build({
      afterSign: async (pkg) => {
        const p = join(pkg, 'update.json');
        await writeFile(p, (await readFile(p, 'utf8')).replace('"restartXAPI"', '"restartPV"'));
      },
    });
    await refusedWithNothingExtracted(path, 'INVALID_PATCH', /does not verify/);
  });

  it('refuses a file the manifest does not list', async () => {
    const path = await build({ afterSign: (pkg) => writeFile(join(pkg, 'payload/opt/islet/backdoor'), 'x') });
    await refusedWithNothingExtracted(path, 'INVALID_PATCH_WITH_LOG', /payload\/opt\/islet\/backdoor: in the archive but not listed/);
  });

  it('refuses a listed file that is missing', async () => {
    const path = await build({ afterSign: (pkg) => rm(join(pkg, 'payload/opt/islet/VERSION')) });
    await refusedWithNothingExtracted(path, 'INVALID_PATCH_WITH_LOG', /payload\/opt\/islet\/VERSION: listed in update.json but missing/);
  });

  it('refuses a symlink entry (zip --symlinks)', async () => {
    const path = await build({
      zipArgs: ['--symlinks'],
      afterSign: (pkg) => symlink('/etc/shadow', join(pkg, 'payload/opt/islet/shadow')),
    });
    await refusedWithNothingExtracted(path, 'INVALID_PATCH_WITH_LOG', /payload\/opt\/islet\/shadow": is a symbolic link/);
  });

  it('refuses a signed manifest that is invalid, saying why', async () => {
    const path = await build({ editManifest: (m) => { m.after_apply_guidance = ['reboot']; } });
    await refusedWithNothingExtracted(path, 'INVALID_PATCH_WITH_LOG', /after_apply_guidance: unknown value "reboot"/);
  });

  it('refuses a file that is not a zip', async () => {
    const path = join(await work(), 'XS602E006.xsupdate');
    await writeFile(path, '-----BEGIN PGP MESSAGE-----\nthis was the pre-7.0 format\n');
    await refusedWithNothingExtracted(path, 'INVALID_PATCH', /not a zip/);
  });

  it('refuses a distribution zip with no .xsupdate, or with two', async () => {
    const dir = await work();
    await writeFile(join(dir, 'README.txt'), 'read me');
    await run('zip', ['-q', 'none.zip', 'README.txt'], { cwd: dir });
    await refusedWithNothingExtracted(join(dir, 'none.zip'), 'INVALID_PATCH', /exactly one \.xsupdate/);
    const one = await build();
    await copyFile(one, join(dir, 'A.xsupdate'));
    await copyFile(one, join(dir, 'B.xsupdate'));
    await run('zip', ['-q', 'two.zip', 'A.xsupdate', 'B.xsupdate'], { cwd: dir });
    await refusedWithNothingExtracted(join(dir, 'two.zip'), 'INVALID_PATCH', /exactly one \.xsupdate/);
  });

  it('refuses ../ and absolute paths even in an otherwise signed update', async () => {
    const dir = await work();
    await handBuild({ gpg, key: rsa, work: dir });
    const pkg = join(dir, 'XS602E006');
    const base = [
      { name: 'update.json', data: await readFile(join(pkg, 'update.json')) },
      { name: 'update.json.asc', data: await readFile(join(pkg, 'update.json.asc')) },
    ];
    for (const [name, reason] of [['payload/../../../etc/cron.d/x', /"\.\." path segment/], ['/etc/cron.d/x', /absolute path/]] as const) {
      const path = join(dir, `evil-${reason.source.length}.xsupdate`);
      await writeFile(path, rawZip([...base, { name, data: Buffer.from('* * * * * root sh\n') }]));
      await refusedWithNothingExtracted(path, 'INVALID_PATCH_WITH_LOG', reason);
    }
  });

  it('cuts off a signed payload that is a zip bomb (200 MiB of zeros declared as 1 KiB)', async () => {
    const dir = await work();
    const zeros = Buffer.alloc(200 * 1024 * 1024);
    const bomb = deflateRawSync(zeros, { level: 9 });
    const manifest = {
      uuid: UPDATE_UUID, name_label: 'bomb', version: '1', after_apply_guidance: [], installation_size: 1024,
      files: [{ path: 'payload/zeros', sha256: 'f'.repeat(64), mode: '0644' }],
    };
    await writeFile(join(dir, 'update.json'), JSON.stringify(manifest));
    await gpg.detachSign(join(dir, 'update.json'), rsa);
    const path = join(dir, 'bomb.xsupdate');
    await writeFile(path, rawZip([
      { name: 'update.json', data: await readFile(join(dir, 'update.json')) },
      { name: 'update.json.asc', data: await readFile(join(dir, 'update.json.asc')) },
      { name: 'payload/zeros', deflated: bomb, declaredSize: 1024 },
    ]));
    await refusedWithNothingExtracted(path, 'INVALID_PATCH_WITH_LOG', /payload\/zeros": inflates beyond its declared 1024 bytes/);
    // Even update.json, read before the signature is checked, cannot be a bomb.
    const early = join(dir, 'early.xsupdate');
    await writeFile(early, rawZip([{ name: 'update.json', deflated: bomb, declaredSize: 100 }, { name: 'update.json.asc', data: Buffer.from('x') }]));
    await refusedWithNothingExtracted(early, 'INVALID_PATCH_WITH_LOG', /update.json": inflates beyond its declared 100 bytes/);
  });

  it('refuses an entry over the size limit the caller sets', async () => {
    const path = await build();
    await assertRefused(verifyUpdateFile(path, trusted, { maxEntrySize: 16 }), 'INVALID_PATCH_WITH_LOG', /declares \d+ bytes, more than the limit of 16/);
    await assertRefused(verifyUpdateFile(path, trusted, { maxEntries: 3 }), 'INVALID_PATCH_WITH_LOG', /entries, more than the limit of 3/);
  });

  it('extracts nothing when the file was swapped after it was verified', async () => {
    const path = await build();
    const v = await verifyUpdateFile(path, trusted);
    const swapped = await build({ afterSign: (pkg) => writeFile(join(pkg, 'payload/opt/islet/VERSION'), 'evil\n') });
    await copyFile(swapped, path);
    const parent = await work();
    await assertRefused(extractPayload(path, v, join(parent, 'root')), 'INVALID_PATCH_WITH_LOG', /VERSION: SHA-256/);
    assert.deepEqual(await readdir(parent), []);
  });

  it('refuses to extract over a non-empty directory', async () => {
    const path = await build();
    const v = await verifyUpdateFile(path, trusted);
    const target = await work();
    await writeFile(join(target, 'keep'), 'x');
    await assert.rejects(extractPayload(path, v, target), /not an empty directory/);
    assert.deepEqual(await readdir(target), ['keep']);
  });
});
