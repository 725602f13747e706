import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadTrustedKeys, readPublicKeys } from '../../../src/updates/package/keyring.js';
import { verifyDetachedSignature } from '../../../src/updates/package/signature.js';
import { GpgHome, type GpgKey } from './gpg-home.js';
import { assertRefused } from './refusal.js';

describe('detached signature over update.json', () => {
  let gpg: GpgHome;
  let work: string;
  let rsa: GpgKey;
  let ed: GpgKey;
  const data = Buffer.from('{"uuid": "b6f7bfe0-b969-11e1-afa6-0800200c9a66"}\n');
  let dataFile: string;

  before(async () => {
    gpg = await GpgHome.create();
    work = await mkdtemp(join(tmpdir(), 'islet-sig-'));
    rsa = await gpg.genKey('RSA signer <rsa@example.com>', 'rsa2048');
    ed = await gpg.genKey('Ed signer <ed@example.com>', 'ed25519');
    dataFile = join(work, 'update.json');
    await writeFile(dataFile, data);
  });
  after(async () => {
    await gpg.close();
    await rm(work, { recursive: true, force: true });
  });

  /** gpg --armor --detach-sign by `key` (optionally at a faked time); returns the .asc text. */
  const sign = async (key: GpgKey, extra: string[] = [], at?: string) => {
    await gpg.gpg(['--yes', '--armor', '--local-user', key.fingerprint, ...extra, '--detach-sign', dataFile], at ? { at } : {});
    return readFile(`${dataFile}.asc`, 'utf8');
  };
  const pub = async (key: GpgKey) => readPublicKeys(await gpg.exportPublic(key));

  for (const which of ['RSA', 'Ed25519'] as const) {
    it(`accepts a gpg ${which} signature and reports the key's fingerprint`, async () => {
      const key = which === 'RSA' ? rsa : ed;
      const r = await verifyDetachedSignature(data, await sign(key), await pub(key));
      assert.equal(r.fingerprint, key.fingerprint);
      assert.equal(r.signingKeyFingerprint, key.fingerprint);
    });
  }

  it('loads trusted keys from exported files, binary or armoured, and refuses secret keys', async () => {
    const armoured = join(work, 'rsa.asc');
    await writeFile(armoured, await gpg.exportPublic(rsa));
    const binary = join(work, 'ed.gpg');
    await gpg.gpg(['--output', binary, '--yes', '--export', ed.fingerprint]);
    const keys = await loadTrustedKeys([armoured, binary]);
    assert.deepEqual(keys.map((k) => k.getFingerprint().toUpperCase()), [rsa.fingerprint, ed.fingerprint]);
    await assert.rejects(readPublicKeys(await gpg.exportSecret(rsa)), /secret key/);
  });

  it('refuses a signature by a key that is not trusted', async () => {
    await assertRefused(verifyDetachedSignature(data, await sign(ed), await pub(rsa)), 'INVALID_PATCH', /not signed by a trusted key/);
  });

  it('refuses a signature over other bytes', async () => {
    const sig = await sign(rsa);
    const tampered = Buffer.from(data.toString().replace('b6f7', 'c6f7'));
    await assertRefused(verifyDetachedSignature(tampered, sig, await pub(rsa)), 'INVALID_PATCH', /does not verify: .*(digest|signature)/i);
  });

  it('refuses a text-mode signature, which is not over the exact bytes', async () => {
    await assertRefused(verifyDetachedSignature(data, await sign(rsa, ['--textmode']), await pub(rsa)), 'INVALID_PATCH', /binary-document/);
  });

  it('refuses what is not an armoured signature', async () => {
    await assertRefused(verifyDetachedSignature(data, 'hello', await pub(rsa)), 'INVALID_PATCH', /not an armoured/);
    await assertRefused(verifyDetachedSignature(data, await gpg.exportPublic(rsa), await pub(rsa)), 'INVALID_PATCH', /not an armoured/);
    await assertRefused(verifyDetachedSignature(data, await sign(rsa), []), 'INVALID_PATCH', /no trusted keys/);
  });

  it('accepts a package co-signed by an unknown key next to a trusted one', async () => {
    await gpg.gpg(['--yes', '--armor', '--local-user', rsa.fingerprint, '--local-user', ed.fingerprint, '--detach-sign', dataFile]);
    const both = await readFile(`${dataFile}.asc`, 'utf8');
    const r = await verifyDetachedSignature(data, both, await pub(ed));
    assert.equal(r.fingerprint, ed.fingerprint);
  });

  it('refuses a key that has expired since it signed', async () => {
    const old = await gpg.genKey('Old signer <old@example.com>', 'ed25519', { expire: '1d', at: '20200101T000000' });
    const sig = await sign(old, [], '20200101T120000');
    await assertRefused(verifyDetachedSignature(data, sig, await pub(old)), 'INVALID_PATCH', new RegExp(`key ${old.fingerprint} is not valid`));
    // The same signature checked at a time the key was valid passes: the refusal is about expiry.
    const r = await verifyDetachedSignature(data, sig, await pub(old), new Date('2020-01-01T18:00:00Z'));
    assert.equal(r.fingerprint, old.fingerprint);
  });

  it('refuses a key that has been revoked since it signed', async () => {
    const gone = await gpg.genKey('Revoked signer <gone@example.com>', 'rsa2048');
    const sig = await sign(gone);
    assert.equal((await verifyDetachedSignature(data, sig, await pub(gone))).fingerprint, gone.fingerprint);
    await gpg.revoke(gone);
    await assertRefused(verifyDetachedSignature(data, sig, await pub(gone)), 'INVALID_PATCH', /revoked/);
  });
});
