/**
 * `localhost` is the loopback address without a resolver (loopback-name.ts): the XenAPI
 * client given `https://localhost:<port>` logs in, calls, uploads, downloads and follows a
 * login redirect against real HTTPS servers on 127.0.0.1, sending no SNI and, in a process
 * of its own, never loading Node's resolver module; against a server on `::1` only, it
 * finds it there after 127.0.0.1 refuses.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loopbackAddress, nextLoopbackAddress } from '../../src/client/loopback-name.js';
import { XapiClient } from '../../src/client/xapi-client.js';
import { selfSignedCertificate } from '../helpers/self-signed-cert.js';

describe('loopbackAddress', () => {
  it('maps localhost and names under .localhost, in any case and with a final dot, to 127.0.0.1', () => {
    for (const name of ['localhost', 'LocalHost', 'localhost.', 'xe.localhost', 'a.b.LOCALHOST.']) assert.equal(loopbackAddress(name), '127.0.0.1', name);
  });
  it('leaves every other name, and addresses, to the resolver', () => {
    for (const name of ['mylocalhost', 'localhost.example.com', 'localhostx', '127.0.0.1', '::1', 'host1']) assert.equal(loopbackAddress(name), undefined, name);
  });
  it('tries ::1 after 127.0.0.1, and nothing after ::1', () => {
    assert.equal(nextLoopbackAddress('127.0.0.1'), '::1');
    assert.equal(nextLoopbackAddress('::1'), undefined);
  });
});

interface Seen { servername: string | false | null; remote: string | undefined; path: string }

/** A small XenAPI look-alike over HTTPS: login, one call, a PUT and a GET; records what each connection looked like. */
async function fakeXapi(host: string, cert: { cert: string; key: string }): Promise<{ port: number; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const srv = https.createServer(cert, (req, res) => {
    const sock = req.socket as import('node:tls').TLSSocket;
    seen.push({ servername: sock.servername, remote: sock.remoteAddress, path: req.url!.split('?')[0]! });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/jsonrpc') {
        const { method, id } = JSON.parse(Buffer.concat(chunks).toString()) as { method: string; id: number };
        const result = method === 'session.login_with_password' ? 'OpaqueRef:s' : method === 'host.get_all' ? ['OpaqueRef:h'] : '';
        const out = JSON.stringify({ jsonrpc: '2.0', result, id });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        return res.end(out);
      }
      if (req.method === 'PUT') {
        res.writeHead(200, { 'content-length': 0 });
        return res.end();
      }
      res.writeHead(200, { 'content-length': 5 });
      res.end('hello');
    });
  });
  await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(0, host, resolve); });
  return {
    port: (srv.address() as AddressInfo).port,
    seen,
    close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
  };
}

/** True when nothing listens on 127.0.0.1:`port` (a listener there is opened and closed again). */
function freeOnV4(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('XapiClient given localhost', () => {
  let cert: { cert: string; key: string };
  let dir: string;
  before(async () => {
    cert = await selfSignedCertificate('localhost');
    dir = await mkdtemp(join(tmpdir(), 'islet-loopback-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('connects to 127.0.0.1 without SNI for calls, uploads and downloads', async () => {
    const srv = await fakeXapi('127.0.0.1', cert);
    const c = new XapiClient({ url: `https://localhost:${srv.port}` });
    try {
      assert.equal(await c.login('root', 'pw'), 'OpaqueRef:s');
      assert.deepEqual(await c.call('host.get_all'), ['OpaqueRef:h']);
      await c.putFile('/import_raw_vdi', {}, Buffer.alloc(4096, 7));
      const out = join(dir, 'got');
      assert.equal(await c.download('/export_raw_vdi', {}, out), 5);
      assert.equal(await readFile(out, 'utf8'), 'hello');
    } finally {
      c.close();
      await srv.close();
    }
    assert.deepEqual(srv.seen.map((s) => s.path), ['/jsonrpc', '/jsonrpc', '/import_raw_vdi', '/export_raw_vdi']);
    for (const s of srv.seen) assert.ok(!s.servername, `SNI ${String(s.servername)} on ${s.path}`);
  });

  it('never loads the resolver (a process of its own, from login to download)', async () => {
    const srv = await fakeXapi('127.0.0.1', cert);
    const script = join(dir, 'probe.mjs');
    const client = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'client', 'xapi-client.js');
    await writeFile(script, `import { XapiClient } from ${JSON.stringify(client)};
const c = new XapiClient({ url: 'https://localhost:${srv.port}' });
await c.login('root', 'pw');
await c.putFile('/import_raw_vdi', {}, Buffer.alloc(10));
await c.download('/export_raw_vdi', {}, ${JSON.stringify(join(dir, 'probe-out'))});
c.close();
process.stdout.write(JSON.stringify(process.moduleLoadList));
`);
    try {
      const stdout = await new Promise<string>((resolve, reject) => execFile(process.execPath, [script], { timeout: 30_000 }, (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out))));
      const loaded = JSON.parse(stdout) as string[];
      assert.ok(loaded.includes('NativeModule tls'), 'the probe sees the modules loaded');
      assert.ok(!loaded.includes('NativeModule dns'), 'localhost went through node:dns');
    } finally {
      await srv.close();
    }
    assert.equal(srv.seen.length, 3);
  });

  it('finds a server listening on ::1 only once 127.0.0.1 refuses', async () => {
    // A port free on 127.0.0.1 too, so that the first try is refused rather than answered by another server.
    let srv = await fakeXapi('::1', cert);
    for (let i = 0; i < 5 && !(await freeOnV4(srv.port)); i++) {
      await srv.close();
      srv = await fakeXapi('::1', cert);
    }
    try {
      assert.ok(await freeOnV4(srv.port), 'no port free on both loopbacks in five tries');
      const c = new XapiClient({ url: `https://localhost:${srv.port}` });
      try {
        assert.equal(await c.login('root', 'pw'), 'OpaqueRef:s');
        await c.putFile('/import_raw_vdi', {}, Buffer.alloc(10));
      } finally {
        c.close();
      }
      assert.deepEqual(srv.seen.map((s) => [s.path, s.remote]), [['/jsonrpc', '::1'], ['/import_raw_vdi', '::1']]);
    } finally {
      await srv.close();
    }
  });
});
