/**
 * The socket download (`xe vdi-export`, `xe vm-export`) against a real node HTTP server and
 * a real HTTPS one on loopback, each case over both: a body ended by the connection's close,
 * one with `Content-Length`, one chunked in pieces of awkward sizes (framing split across
 * reads), a body larger than every write buffer together (the socket pauses whenever the
 * file lags; a TLS socket still hands over what it decrypted), a redirect followed, an error
 * status failing with the server's text, and a chunked body cut short. Over TLS, the
 * server's certificate is checked when asked (and a certificate from an unknown CA refused).
 * Every file is compared byte for byte with what the server sent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { socketDownload } from '../../src/client/socket-download.js';
import { HttpStatusError } from '../../src/client/http-transfer.js';
import { selfSignedCertificate } from '../helpers/self-signed-cert.js';

const MiB = 1024 * 1024;

async function fileSha(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const small = randomBytes(3 * MiB + 12345);
const large = randomBytes(40 * MiB + 777);


async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<unknown> {
  const u = new URL(req.url!, 'http://x');
  const write = async (b: Buffer) => { if (!res.write(b)) await new Promise((r) => res.once('drain', r)); };
  switch (u.pathname) {
    case '/close': {
      res.removeHeader('transfer-encoding');
      res.writeHead(200, { connection: 'close' });
      for (let i = 0; i < small.length; i += MiB) await write(small.subarray(i, i + MiB));
      return res.end();
    }
    case '/length':
      res.writeHead(200, { 'content-length': small.length });
      return res.end(small);
    case '/chunked': {
      res.writeHead(200);
      // Chunk sizes that put size lines and CRLFs across read boundaries.
      const sizes = [1, 2, 4093, 65535, 65536, 65537, 511, 1 * MiB + 3];
      for (let at = 0, k = 0; at < small.length; k++) {
        const n = Math.min(sizes[k % sizes.length]!, small.length - at);
        await write(small.subarray(at, at + n));
        at += n;
      }
      return res.end();
    }
    case '/large': {
      res.removeHeader('transfer-encoding');
      res.writeHead(200, { connection: 'close' });
      for (let i = 0; i < large.length; i += 4 * MiB) await write(large.subarray(i, i + 4 * MiB));
      return res.end();
    }
    case '/moved':
      res.writeHead(302, { location: `/length${u.search}` });
      return res.end();
    case '/fail':
      res.writeHead(500, { 'content-type': 'text/plain' });
      return res.end('VM_BAD_POWER_STATE: the VM is running');
    case '/cut': {
      res.writeHead(200);
      await write(small.subarray(0, MiB));
      res.socket!.destroy();
      return;
    }
    default:
      res.writeHead(404);
      return res.end();
  }
}

for (const scheme of ['http', 'https'] as const) {
  describe(`socketDownload over ${scheme}`, { timeout: 120_000 }, () => {
    let server: http.Server;
    let base: string;
    let dir: string;
    let cert: string;
    const tls = () => ({ rejectUnauthorized: true, ca: cert });

    before(async () => {
      dir = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), 'socket-download-'));
      const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => void handle(req, res);
      if (scheme === 'https') {
        const pems = await selfSignedCertificate('localhost');
        cert = pems.cert;
        server = https.createServer(pems, onRequest);
      } else {
        server = http.createServer(onRequest);
      }
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `${scheme}://127.0.0.1:${(server.address() as { port: number }).port}`;
    });

    after(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await rm(dir, { recursive: true, force: true });
    });

    for (const path of ['/close', '/length', '/chunked']) {
      it(`writes a body framed as ${path.slice(1)} byte for byte`, async () => {
        const file = join(dir, `${path.slice(1)}.bin`);
        const n = await socketDownload(new URL(base + path), file);
        assert.equal(n, small.length);
        assert.equal((await stat(file)).size, small.length);
        assert.equal(await fileSha(file), sha(small));
      });
    }

    it('writes a body larger than all its buffers together, reporting progress per buffer', async () => {
      const file = join(dir, 'large.bin');
      const seen: number[] = [];
      const n = await socketDownload(new URL(`${base}/large`), file, { onBytes: (b) => seen.push(b) });
      assert.equal(n, large.length);
      assert.equal(await fileSha(file), sha(large));
      assert.ok(seen.length >= 5, `progress reported per 8 MiB buffer (${seen.length} times)`);
      assert.equal(seen[seen.length - 1], large.length);
    });

    it('follows a redirect, keeping the query', async () => {
      const file = join(dir, 'moved.bin');
      assert.equal(await socketDownload(new URL(`${base}/moved?session_id=abc`), file), small.length);
      assert.equal(await fileSha(file), sha(small));
    });

    it('fails on an error status with the server\'s text', async () => {
      await assert.rejects(socketDownload(new URL(`${base}/fail`), join(dir, 'fail.bin')),
        (e: unknown) => e instanceof HttpStatusError && e.status === 500 && e.body.includes('VM_BAD_POWER_STATE'));
    });

    it('fails when a chunked body is cut short', async () => {
      await assert.rejects(socketDownload(new URL(`${base}/cut`), join(dir, 'cut.bin')), /closed inside a chunked body/);
    });

    it('reports the announced length with the bytes written', async () => {
      const seen: Array<[number, number | undefined]> = [];
      await socketDownload(new URL(`${base}/length`), join(dir, 'total.bin'), { onBytes: (n, total) => seen.push([n, total]) });
      assert.deepEqual(seen.at(-1), [small.length, small.length]);
    });

    if (scheme === 'https') {
      it('checks the server\'s certificate against the CA given', async () => {
        const file = join(dir, 'verified.bin');
        assert.equal(await socketDownload(new URL(`${base}/large`), file, { tls: tls() }), large.length);
        assert.equal(await fileSha(file), sha(large));
      });

      it('refuses a certificate from an unknown CA when asked to verify', async () => {
        await assert.rejects(socketDownload(new URL(`${base}/length`), join(dir, 'unverified.bin'), { tls: { rejectUnauthorized: true } }),
          (e: unknown) => /self[- ]signed|unable to verify/i.test(String(e)));
      });
    }
  });
}
