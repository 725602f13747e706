/**
 * @module
 * A self-signed certificate for TLS tests: it is its own CA, names `localhost` and
 * 127.0.0.1, and serves TLS servers on loopback, so a client can check it by trusting the
 * certificate itself. Made with the `selfsigned` package, so it needs no openssl.
 */
export async function selfSignedCertificate(commonName: string): Promise<{ cert: string; key: string }> {
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
