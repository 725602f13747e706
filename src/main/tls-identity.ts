/**
 * @module
 * The host's TLS identity: a certificate and key given with flags, or generated at first
 * start into `<data-dir>/tls/` and reused afterwards, as a XenServer host keeps its
 * `xapi-ssl.pem`. A generated key is ECDSA P-256: as strong as RSA-3072 and made in well
 * under a millisecond, where an RSA-2048 key's prime search took 0.3 to 1 s of CPU at every
 * first start (each new host, each host of `islet pool up`). Every TLS client of a host
 * (browsers, XenAPI clients, xe, NBD clients over GnuTLS) accepts it; a certificate and key
 * given with flags may be of any type.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TlsIdentity {
  readonly cert: string;
  readonly key: string;
}

/**
 * The first certificate of a PEM file, alone: what the host serves, and nothing else a
 * file given with --tls-cert may also hold (a chain, or a key put in the same file).
 */
export function firstCertificate(pem: string): string | undefined {
  const m = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/.exec(pem);
  return m ? `${m[0]}\n` : undefined;
}

export async function loadOrCreateTlsIdentity(
  dataDir: string,
  opts: { certFile?: string; keyFile?: string; hostName: string; addresses: readonly string[] },
): Promise<TlsIdentity> {
  if (opts.certFile && opts.keyFile) {
    return { cert: await readFile(opts.certFile, 'utf8'), key: await readFile(opts.keyFile, 'utf8') };
  }
  const dir = join(dataDir, 'tls');
  const certPath = join(dir, 'host-cert.pem');
  const keyPath = join(dir, 'host-key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const altNames = [
    { type: 2 as const, value: opts.hostName },
    { type: 2 as const, value: 'localhost' },
    ...opts.addresses.map((ip) => ({ type: 7 as const, ip })),
  ];
  // Ten years, as a XenServer host's own certificate; selfsigned 5 takes an end date (it
  // ignores the `days` of earlier versions, and would make it one year).
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + 10);
  const pems = await generate([{ name: 'commonName', value: opts.hostName }], {
    keyType: 'ec',
    curve: 'P-256',
    notBeforeDate,
    notAfterDate,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      // An ECDSA key signs the handshake; it never carries a key (no keyEncipherment).
      { name: 'keyUsage', digitalSignature: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  } as Parameters<typeof generate>[1]);
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  await writeFile(certPath, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private };
}
