import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildUpdate } from '../../../src/updates/package/build-update.js';
import { runUpdateBuildCli } from '../../../src/updates/package/build-cli.js';
import { verifyAndExtract } from '../../../src/updates/package/extract-payload.js';
import { verifyUpdateFile } from '../../../src/updates/package/verify-update.js';
import { GpgHome, run, type GpgKey } from './gpg-home.js';
import { UPDATE_UUID, writeSourceTree } from './hand-build.js';
import { assertRefused } from './refusal.js';

/**
 * Walks a zip from its first byte using only the local headers: each must carry its sizes
 * (no data-descriptor flag) so that the walk lands on the next header or the central directory.
 */
function localHeaders(zip: Buffer): Array<{ name: string; size: number }> {
  const out: Array<{ name: string; size: number }> = [];
  let at = 0;
  while (zip.readUInt32LE(at) === 0x04034b50) {
    const flags = zip.readUInt16LE(at + 6);
    const compressed = zip.readUInt32LE(at + 18);
    const size = zip.readUInt32LE(at + 22);
    const nameLen = zip.readUInt16LE(at + 26);
    const extraLen = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 30, at + 30 + nameLen);
    assert.equal(flags & 0x8, 0, `${name}: sizes deferred to a data descriptor`);
    out.push({ name, size });
    at += 30 + nameLen + extraLen + compressed;
  }
  assert.equal(zip.readUInt32LE(at), 0x02014b50, 'the local headers lead to the central directory');
  return out;
}

describe('building an update', () => {
  let gpg: GpgHome;
  let root: string;
  let rsa: GpgKey;
  let ed: GpgKey;
  let src: string;
  let n = 0;
  const work = async () => { const d = join(root, `w${++n}`); await mkdir(d); return d; };

  before(async () => {
    gpg = await GpgHome.create();
    root = await mkdtemp(join(tmpdir(), 'islet-build-'));
    rsa = await gpg.genKey('Islet Updates <updates@example.com>', 'rsa2048');
    ed = await gpg.genKey('Islet Ed25519 <ed@example.com>', 'ed25519', { passphrase: 'hunter2' });
    src = join(root, 'src');
    await writeSourceTree(src);
  });
  after(async () => {
    await gpg.close();
    await rm(root, { recursive: true, force: true });
  });

  /** What gpg itself says about the signature inside the archive. */
  async function gpgVerifyInside(xsupdate: string): Promise<string> {
    const dir = await work();
    await run('unzip', ['-q', xsupdate, 'update.json', 'update.json.asc', '-d', dir]);
    return gpg.verify(join(dir, 'update.json.asc'), join(dir, 'update.json'));
  }

  it('makes an .xsupdate that gpg, unzip and the verifier all accept', async () => {
    const out = join(await work(), 'XS602E006.xsupdate');
    const r = await buildUpdate({
      sourceDir: src, out, signingKey: await gpg.exportSecret(rsa),
      manifest: { uuid: UPDATE_UUID, name_label: 'XS602E006', version: '1.0', after_apply_guidance: ['restartHost'],
        applies_to: { product: 'XenServer', min: '6.0.2', max: '6.0.2' } },
    });
    assert.equal(r.fingerprint, rsa.fingerprint);
    assert.match(await gpgVerifyInside(out), new RegExp(`\\[GNUPG:\\] VALIDSIG ${rsa.fingerprint} `));
    await run('unzip', ['-tq', out]);
    const listing = (await run('zipinfo', [out])).stdout;
    assert.match(listing, /-rwxr-xr-x .* payload\/opt\/islet\/bin\/isl-fix/);
    assert.match(listing, /-rw-r--r-- .* payload\/opt\/islet\/VERSION/);
    const v = await verifyUpdateFile(out, [await gpg.exportPublic(rsa)]);
    assert.equal(v.manifest.installation_size, 10 + 39, 'defaults to the payload bytes');
    assert.deepEqual(v.manifest.files.map((f) => [f.path, f.size]), [
      ['payload/opt/islet/VERSION', 10], ['payload/opt/islet/bin/isl-fix', 39], ['hooks/apply', 17], ['hooks/precheck', 17],
    ]);
  });

  it('signs with a passphrase-protected Ed25519 key through the CLI, and wraps NAME.zip', async () => {
    const dir = await work();
    await writeFile(join(dir, 'key.asc'), await gpg.exportSecret(ed, 'hunter2'));
    await writeFile(join(dir, 'pass'), 'hunter2\n');
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({
      name_label: 'XS602E006', name_description: 'iSL fixes', version: '1.0', after_apply_guidance: ['restartXAPI'],
    }));
    let printed = '';
    const stdout = new Writable({ write(c, _e, done) { printed += String(c); done(); } });
    const out = join(dir, 'XS602E006.xsupdate');
    const r = await runUpdateBuildCli(['--source', src, '--manifest', join(dir, 'manifest.json'), '--key', join(dir, 'key.asc'),
      '--passphrase-file', join(dir, 'pass'), '--out', out, '--zip', '--guidance', 'restartHost,restartXAPI',
      '--product', 'XenServer', '--min-version', '6.0.2', '--max-version', '6.0.2'], stdout);
    assert.ok(r);
    assert.match(printed, new RegExp(`^uuid: ${r.manifest.uuid}\nxsupdate: .*XS602E006.xsupdate\nzip: .*XS602E006.zip\nsigned-by: ${ed.fingerprint}\n$`));
    assert.deepEqual(r.manifest.after_apply_guidance, ['restartHost', 'restartXAPI'], 'flags win over the manifest file');
    assert.match(await gpgVerifyInside(out), new RegExp(`VALIDSIG ${ed.fingerprint} `));
    assert.match((await run('unzip', ['-Z1', join(dir, 'XS602E006.zip')])).stdout, /^XS602E006.xsupdate\n$/);
    const target = join(dir, 'root');
    const v = await verifyAndExtract(join(dir, 'XS602E006.zip'), [await gpg.exportPublic(ed)], target);
    assert.deepEqual(v.manifest.applies_to, { product: 'XenServer', min: '6.0.2', max: '6.0.2' });
    assert.equal(await readFile(join(target, 'opt/islet/VERSION'), 'utf8'), 'XS602E006\n');
    // Readers that trust local headers (streaming unzippers, upload clients) need real sizes there.
    const zipEntries = localHeaders(await readFile(join(dir, 'XS602E006.zip')));
    assert.deepEqual(zipEntries.map((e) => e.name), ['XS602E006.xsupdate']);
    assert.equal(zipEntries[0]!.size, (await readFile(out)).length, 'the .xsupdate size is in its local header');
    assert.ok(localHeaders(await readFile(out)).length >= 3, 'every .xsupdate entry has its sizes in its local header');
  });

  it('refuses a protected key without its passphrase, and leaves no file', async () => {
    const out = join(await work(), 'X.xsupdate');
    await assert.rejects(buildUpdate({ sourceDir: src, out, signingKey: await gpg.exportSecret(ed, 'hunter2'),
      manifest: { name_label: 'X', version: '1' } }), /passphrase/);
    assert.equal(existsSync(out), false);
  });

  it('refuses a source tree with a symlink or a stray top-level file', async () => {
    const key = await gpg.exportSecret(rsa);
    const bad = join(await work(), 'src');
    await writeSourceTree(bad);
    await symlink('/etc/passwd', join(bad, 'payload/opt/islet/passwd'));
    await assertRefused(buildUpdate({ sourceDir: bad, out: join(bad, '..', 'a.xsupdate'), signingKey: key,
      manifest: { name_label: 'X', version: '1' } }), 'INVALID_PATCH_WITH_LOG', /payload\/opt\/islet\/passwd: is a symbolic link/);
    await rm(join(bad, 'payload/opt/islet/passwd'));
    await writeFile(join(bad, 'README'), 'x');
    await assertRefused(buildUpdate({ sourceDir: bad, out: join(bad, '..', 'a.xsupdate'), signingKey: key,
      manifest: { name_label: 'X', version: '1' } }), 'INVALID_PATCH_WITH_LOG', /README: only the directories payload\/ and hooks\//);
  });

  it('refuses manifest fields that would make an invalid update', async () => {
    const dir = await work();
    await writeFile(join(dir, 'key.asc'), await gpg.exportSecret(rsa));
    await assertRefused(runUpdateBuildCli(['--source', src, '--key', join(dir, 'key.asc'), '--out', join(dir, 'X.xsupdate'),
      '--name-label', 'X', '--version', '1', '--guidance', 'reboot', '--uuid', 'not-a-uuid'], new Writable({ write: (_c, _e, d) => d() })),
    'INVALID_PATCH_WITH_LOG', /uuid: must be a lowercase uuid.*after_apply_guidance: unknown value "reboot"/);
    await assert.rejects(runUpdateBuildCli(['--source', src, '--key', join(dir, 'key.asc'), '--out', join(dir, 'X.xsupdate')]), /--name-label and --version/);
    await assert.rejects(runUpdateBuildCli(['--bogus']), /unknown option --bogus/);
    assert.equal(existsSync(join(dir, 'X.xsupdate')), false);
  });
});
