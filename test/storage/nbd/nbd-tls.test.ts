/**
 * STARTTLS: libnbd clients (nbdinfo, nbdcopy) verify our certificate against a CA
 * directory given in the `nbds://` URI (`tls-certificates=DIR`, which holds
 * `ca-cert.pem`), copy through TLS byte for byte, and are refused before TLS when the
 * server requires it. Test certificates come from the openssl CLI, or the `selfsigned`
 * package when openssl is missing.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileBlockDevice } from '../../../src/storage/nbd/file-block-device.js';
import type { ExportContext } from '../../../src/storage/nbd/nbd-options.js';
import { selfSignedCertificate } from '../../helpers/self-signed-cert.js';
import { MiniClient, NBD } from './mini-client.js';
import { MiB, has, missingTools, makeRawFile, makeTempDir, pattern, run, runOk, serveFile, type ServedFile } from './nbd-fixture.js';

interface Pki {
  /** Directory in libnbd's layout: `ca-cert.pem`. */
  caDir: string;
  cert: string;
  key: string;
}

async function makePki(dir: string, name: string): Promise<Pki> {
  const caDir = join(dir, name);
  await mkdir(caDir);
  if (await has('openssl')) {
    const p = (f: string): string => join(caDir, f);
    await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca-key.pem'), '-out', p('ca-cert.pem'),
      '-days', '2', '-subj', `/CN=${name} test CA`]);
    await runOk('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server-key.pem'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
    await writeFile(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    await runOk('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca-cert.pem'), '-CAkey', p('ca-key.pem'),
      '-CAcreateserial', '-out', p('server-cert.pem'), '-days', '2', '-extfile', p('ext.cnf')]);
    return { caDir, cert: await readFile(p('server-cert.pem'), 'utf8'), key: await readFile(p('server-key.pem'), 'utf8') };
  }
  const pems = await selfSignedCertificate('127.0.0.1');
  await writeFile(join(caDir, 'ca-cert.pem'), pems.cert);
  return { caDir, ...pems };
}

const missing = await missingTools(['nbdinfo', 'nbdcopy']);
const skip = missing.length ? `missing ${missing.join(', ')}` : false;

describe('NBD over TLS', { skip }, () => {
  let dir: string;
  let file: string;
  let pki: Pki;
  let other: Pki;
  let served: ServedFile;
  const seen: ExportContext[] = [];

  before(async () => {
    dir = await makeTempDir();
    [pki, other] = [await makePki(dir, 'pki'), await makePki(dir, 'other')];
    file = join(dir, 'disk.raw');
    await makeRawFile(file, 8 * MiB, [{ offset: MiB, data: pattern(2 * MiB, 1) }]);
    const device = await FileBlockDevice.open(file);
    served = await serveFile(undefined, {
      device,
      tls: { cert: pki.cert, key: pki.key },
      tlsRequired: true,
      resolveExport: async (name, ctx) => {
        seen.push(ctx);
        return name === 'disk' ? { device, readOnly: false, release: async () => undefined } : undefined;
      },
    });
  });

  after(async () => {
    await served?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const tlsUri = (ca: Pki): string => `nbds://127.0.0.1:${served.port}/disk?tls-certificates=${ca.caDir}`;

  it('nbdinfo connects with TLS after verifying the certificate', async () => {
    const info = JSON.parse(await runOk('nbdinfo', ['--json', tlsUri(pki)]));
    assert.equal(info.TLS, true);
    assert.equal(info.exports[0]['export-size'], 8 * MiB);
    assert.ok(seen.length > 0 && seen.every((c) => c.tls === true), 'the resolver only ever saw TLS connections');
    assert.match(seen[0]!.peer, /^127\.0\.0\.1:\d+$/);
  });

  it('nbdcopy copies out and in through TLS byte for byte', async () => {
    const out = join(dir, 'out.raw');
    await runOk('nbdcopy', [tlsUri(pki), out]);
    assert.ok((await readFile(out)).equals(await readFile(file)));
    const src = join(dir, 'src.raw');
    await makeRawFile(src, 8 * MiB, [{ offset: 0, data: pattern(3 * MiB, 2) }, { offset: 6 * MiB, data: pattern(MiB, 3) }]);
    await runOk('nbdcopy', [src, tlsUri(pki)]);
    assert.ok((await readFile(file)).equals(await readFile(src)));
  });

  it('a certificate from an unknown CA is rejected by the client', async () => {
    const r = await run('nbdinfo', [tlsUri(other)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /certificate|verif/i);
  });

  it('a plain client is refused before TLS, and the server carries on', async () => {
    const r = await run('nbdinfo', [served.uri()]);
    assert.notEqual(r.code, 0);
    const err = await MiniClient.connect(served.port, { exportName: 'disk' }).then(() => undefined, (e: Error) => e);
    assert.match(String(err?.message), /GO refused: 0x80000005/, 'NBD_REP_ERR_TLS_REQD');
    assert.equal((await runOk('nbdinfo', ['--size', tlsUri(pki)])).trim(), String(8 * MiB));
  });

  it('NBD_OPT_EXPORT_NAME without TLS gets the connection closed, as the spec requires', async () => {
    const s = await MiniClient.raw(served.port);
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    s.on('error', () => undefined);
    s.once('data', () => {
      const flags = Buffer.alloc(4);
      flags.writeUInt32BE(1);
      const name = Buffer.from('disk');
      const h = Buffer.alloc(16);
      h.writeBigUInt64BE(NBD.IHAVEOPT, 0);
      h.writeUInt32BE(NBD.OPT.EXPORT_NAME, 8);
      h.writeUInt32BE(name.length, 12);
      s.write(Buffer.concat([flags, h, name]));
    });
    await closed;
  });
});

describe('NBD STARTTLS modes', { skip }, () => {
  it('without TLS configured, STARTTLS is refused with ERR_POLICY and the session goes on', async () => {
    const dir = await makeTempDir();
    const device = await FileBlockDevice.create(join(dir, 'd.raw'), MiB);
    const served = await serveFile(undefined, { device });
    try {
      const c = await MiniClient.greet(served.port);
      const r = await c.option(NBD.OPT.STARTTLS, Buffer.alloc(0));
      assert.equal(r[0]!.type, 0x80000002);
      const list = await c.option(NBD.OPT.LIST, Buffer.alloc(0));
      assert.equal(list[list.length - 1]!.type, NBD.REP_ACK);
      c.socket.destroy();
    } finally {
      await served.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('with TLS offered but not required, plain and TLS clients both get in', async () => {
    const dir = await makeTempDir();
    const pki = await makePki(dir, 'pki');
    const file = join(dir, 'd.raw');
    await makeRawFile(file, 2 * MiB, [{ offset: 0, data: pattern(MiB, 4) }]);
    const served = await serveFile(file, { tls: { cert: pki.cert, key: pki.key } });
    try {
      assert.equal((await runOk('nbdinfo', ['--size', served.uri()])).trim(), String(2 * MiB));
      const info = JSON.parse(await runOk('nbdinfo', ['--json', `nbds://127.0.0.1:${served.port}/disk?tls-certificates=${pki.caDir}`]));
      assert.equal(info.TLS, true);
    } finally {
      await served.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
