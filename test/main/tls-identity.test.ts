/**
 * The host's generated TLS identity: an ECDSA P-256 key and a certificate for the host's
 * names and addresses, written under `<data-dir>/tls/` and reused by the next start; it
 * serves a real TLS handshake that checks the names; a certificate and key given as files
 * win over the generated pair. host.get_server_certificate gives the certificate the host
 * serves (the one a TLS client receives), and never a key a given file also holds.
 */
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { firstCertificate, loadOrCreateTlsIdentity } from '../../src/main/tls-identity.js';
import { XapiClient } from '../../src/client/xapi-client.js';
import { startIslet } from '../helpers/islet-server.js';
import { selfSignedCertificate } from '../helpers/self-signed-cert.js';

describe('host TLS identity', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tls-identity-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('generates an ECDSA P-256 key and a certificate for the host\'s names, kept for the next start', async () => {
    const id = await loadOrCreateTlsIdentity(dir, { hostName: 'host-a', addresses: ['127.0.0.1'] });
    const cert = new X509Certificate(id.cert);
    const key = createPrivateKey(id.key);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(cert.checkPrivateKey(key), 'the key is the certificate\'s');
    assert.match(cert.subject, /CN=host-a/);
    assert.match(cert.subjectAltName ?? '', /DNS:host-a/);
    assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
    assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.ok(new Date(cert.validFrom).getTime() <= Date.now(), 'valid from now on');
    const years = (new Date(cert.validTo).getTime() - Date.now()) / (365.25 * 86_400_000);
    assert.ok(years > 9.9 && years < 10.1, `valid for ten years, as a XenServer host's certificate (${years.toFixed(2)})`);
    assert.equal(await readFile(join(dir, 'tls', 'host-cert.pem'), 'utf8'), id.cert);
    assert.equal((await stat(join(dir, 'tls', 'host-key.pem'))).mode & 0o777, 0o600, 'the key is readable by its owner only');
    const again = await loadOrCreateTlsIdentity(dir, { hostName: 'host-a', addresses: ['127.0.0.1'] });
    assert.deepEqual(again, id, 'the next start reuses the pair');
  });

  it('serves a TLS handshake that a client checking the name and the certificate accepts', async () => {
    const id = await loadOrCreateTlsIdentity(dir, { hostName: 'host-a', addresses: ['127.0.0.1'] });
    const server = createServer({ cert: id.cert, key: id.key }, (s) => s.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      for (const servername of ['host-a', 'localhost']) {
        const text = await new Promise<string>((resolve, reject) => {
          const s: TLSSocket = connect({ host: '127.0.0.1', port, servername, ca: id.cert }, () => undefined);
          let got = '';
          s.on('data', (d: Buffer) => { got += d.toString(); });
          s.on('end', () => resolve(got));
          s.on('error', reject);
        });
        assert.equal(text, 'hello', `verified as ${servername}`);
      }
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('uses a certificate and key given as files instead', async () => {
    const own = await selfSignedCertificate('given-host');
    const other = await mkdtemp(join(tmpdir(), 'tls-given-'));
    try {
      const certFile = join(other, 'c.pem');
      const keyFile = join(other, 'k.pem');
      await writeFile(certFile, own.cert);
      await writeFile(keyFile, own.key);
      const id = await loadOrCreateTlsIdentity(other, { hostName: 'x', addresses: [], certFile, keyFile });
      assert.deepEqual(id, { cert: own.cert, key: own.key });
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('takes only the first certificate of a file that also holds a chain or a key', async () => {
    const a = await selfSignedCertificate('a');
    const b = await selfSignedCertificate('b');
    assert.equal(firstCertificate(`${a.key}${a.cert}${b.cert}`), a.cert.trimEnd() + '\n');
    assert.equal(firstCertificate(a.key), undefined);
  });
});

describe('host.get_server_certificate', { timeout: 60_000 }, () => {
  it('is the certificate a TLS client receives from the host', async () => {
    const islet = await startIslet({ args: ['--spawn-hypervisor', 'false'] });
    const c = new XapiClient({ url: islet.url });
    try {
      await c.login('root', islet.rootPassword);
      const [host] = (await c.call('host.get_all')) as string[];
      const pem = String(await c.call('host.get_server_certificate', host));
      assert.doesNotMatch(pem, /PRIVATE KEY/);
      const served = await new Promise<Buffer>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: islet.port, rejectUnauthorized: false }, () => {
          resolve(s.getPeerCertificate().raw);
          s.destroy();
        });
        s.once('error', reject);
      });
      assert.deepEqual(new X509Certificate(pem).raw, served);
    } finally {
      c.close();
      await islet.stop();
    }
  });
});
