/**
 * The XenAPI client against a real Islet server (JSON-RPC over TLS with its self-signed
 * certificate, and over plain HTTP on the same port), a loopback server that answers
 * HOST_IS_SLAVE, and a loopback file handler for PUT/GET with redirects (and one that
 * tells which connection each call and upload came on).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { XapiCallError } from '../../src/client/xapi-call-error.js';
import { masterUrl, XapiClient } from '../../src/client/xapi-client.js';
import { decodeTaskResult } from '../../src/client/task-result.js';
import { HttpStatusError } from '../../src/client/http-transfer.js';
import { type IsletProcess, startIslet } from '../helpers/islet-server.js';

async function listen(handler: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
  };
}

function body(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

describe('XapiClient against islet', () => {
  let islet: IsletProcess;
  before(async () => { islet = await startIslet({ rootPassword: 'client-test-pw' }); });
  after(async () => { await islet.stop(); });

  for (const scheme of ['https', 'http'] as const) {
    it(`logs in, calls and logs out over ${scheme}`, async () => {
      const c = new XapiClient({ url: `${scheme}://127.0.0.1:${islet.port}` });
      try {
        const session = await c.login('root', 'client-test-pw', { originator: 'test' });
        assert.match(session, /^OpaqueRef:/);
        const hosts = (await c.call('host.get_all')) as string[];
        assert.equal(hosts.length, 1);
        const rec = (await c.call('host.get_record', hosts[0])) as Record<string, unknown>;
        assert.equal(typeof rec.uuid, 'string');
        await c.logout();
        assert.equal(c.sessionId, undefined);
        await assert.rejects(c.rawCall('host.get_all', [session]), (e) => e instanceof XapiCallError && e.code === 'SESSION_INVALID');
      } finally {
        c.close();
      }
    });
  }

  it('reports a wrong password as SESSION_AUTHENTICATION_FAILED', async () => {
    const c = new XapiClient({ url: `https://127.0.0.1:${islet.port}` });
    try {
      await assert.rejects(c.login('root', 'wrong'), (e) => e instanceof XapiCallError && e.code === 'SESSION_AUTHENTICATION_FAILED');
    } finally {
      c.close();
    }
  });

  it('refuses the self-signed certificate when a different CA is required', async () => {
    const c = new XapiClient({ url: `https://127.0.0.1:${islet.port}`, rejectUnauthorized: true });
    try {
      await assert.rejects(c.login('root', 'client-test-pw'), (e) => !(e instanceof XapiCallError));
    } finally {
      c.close();
    }
  });

  it('runs an Async call through its task and destroys the task', async () => {
    const c = new XapiClient({ url: `https://127.0.0.1:${islet.port}` });
    try {
      await c.login('root', 'client-test-pw');
      assert.equal(await c.callAsync('event.register', ['*']), '');
      assert.deepEqual(await c.call('task.get_all'), []);
      await c.logout();
    } finally {
      c.close();
    }
  });

  it('waits for a task on its events: one read of the task per change, none on a timer', async () => {
    const owner = new XapiClient({ url: `https://127.0.0.1:${islet.port}` });
    const waiter = new XapiClient({ url: `https://127.0.0.1:${islet.port}` });
    try {
      await owner.login('root', 'client-test-pw');
      await waiter.login('root', 'client-test-pw');
      const task = String(await owner.call('task.create', 'settled by hand', ''));
      const calls: string[] = [];
      const call = waiter.call.bind(waiter);
      waiter.call = (method: string, ...params: unknown[]) => { calls.push(method); return call(method, ...params); };
      const result = waiter.waitTask(task);
      // Settled only once the waiter sits in a long poll: a timer's back-off would have read
      // the task about ten times by then (20 ms doubling to 500 ms over 1.5 s).
      const deadline = Date.now() + 30_000;
      while (calls.filter((m) => m === 'event.from').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(calls.filter((m) => m === 'event.from').length, 2, `the waiter long-polls the task: ${calls.join(' ')}`);
      await new Promise((r) => setTimeout(r, 1500));
      await owner.call('task.set_progress', task, 0.5);
      await owner.call('task.set_result', task, '<value>done</value>');
      await owner.call('task.set_status', task, 'success');
      assert.equal(await result, 'done');
      assert.ok(calls.filter((m) => m === 'task.get_record').length <= 4, `the task was read only when it changed: ${calls.join(' ')}`);
      assert.deepEqual(calls.filter((m) => m !== 'task.get_record' && m !== 'event.from'), []);
      await owner.call('task.destroy', task);
    } finally {
      await owner.logout().catch(() => undefined);
      await waiter.logout().catch(() => undefined);
      owner.close();
      waiter.close();
    }
  });

  it('waits for a task by polling when the server refuses event.from, and reports its failure', async () => {
    let reads = 0;
    const srv = await listen(async (req, res) => {
      const { id, method } = JSON.parse((await body(req)).toString()) as { id: number; method: string };
      res.setHeader('Content-Type', 'application/json');
      const reply = (r: object) => res.end(JSON.stringify({ jsonrpc: '2.0', id, ...r }));
      if (method === 'session.login_with_password') return reply({ result: 'OpaqueRef:s' });
      if (method === 'Async.VM.start') return reply({ result: 'OpaqueRef:t' });
      if (method === 'event.from') return reply({ error: { code: 1, message: 'MESSAGE_METHOD_UNKNOWN', data: ['event.from'] } });
      if (method === 'task.get_record') {
        reads++;
        return reply({ result: reads < 3 ? { status: 'pending' } : { status: 'failure', error_info: ['VM_BAD_POWER_STATE', 'OpaqueRef:v', 'halted', 'running'] } });
      }
      return reply({ result: '' });
    });
    const c = new XapiClient({ url: `http://127.0.0.1:${srv.port}` });
    try {
      await c.login('root', 'x');
      await assert.rejects(c.callAsync('VM.start', 'OpaqueRef:v', false, false), (e) => e instanceof XapiCallError && e.code === 'VM_BAD_POWER_STATE');
      assert.equal(reads, 3);
    } finally {
      c.close();
      await srv.close();
    }
  });

  it('follows HOST_IS_SLAVE to the master once', async () => {
    const member = await listen(async (req, res) => {
      const { id } = JSON.parse((await body(req)).toString()) as { id: number };
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: 1, message: 'HOST_IS_SLAVE', data: [`127.0.0.1:${islet.port}`] } }));
    });
    const c = new XapiClient({ url: `http://127.0.0.1:${member.port}` });
    try {
      await c.login('root', 'client-test-pw');
      assert.equal(c.url, `http://127.0.0.1:${islet.port}`);
      assert.equal(((await c.call('pool.get_all')) as string[]).length, 1);
      await c.logout();
    } finally {
      c.close();
      await member.close();
    }
  });
});

describe('masterUrl', () => {
  const cur = new URL('https://10.0.0.2:8443');
  it('keeps scheme and port for a bare address, takes a port or URL when given', () => {
    assert.equal(masterUrl(cur, '10.0.0.1').href, 'https://10.0.0.1:8443/');
    assert.equal(masterUrl(cur, '10.0.0.1:9000').href, 'https://10.0.0.1:9000/');
    assert.equal(masterUrl(cur, '[fd00::1]:9000').href, 'https://[fd00::1]:9000/');
    assert.equal(masterUrl(cur, 'fd00::1').href, 'https://[fd00::1]:8443/');
    assert.equal(masterUrl(cur, 'http://m:81').href, 'http://m:81/');
  });
});

describe('decodeTaskResult', () => {
  it('reads the XML-RPC fragments xapi stores in task.result', () => {
    assert.equal(decodeTaskResult(''), '');
    assert.equal(decodeTaskResult('OpaqueRef:abc'), 'OpaqueRef:abc');
    assert.equal(decodeTaskResult('<value>OpaqueRef:abc</value>'), 'OpaqueRef:abc');
    assert.equal(decodeTaskResult('<value><string>a &amp; b</string></value>'), 'a & b');
    assert.equal(decodeTaskResult('<value/>'), '');
    assert.deepEqual(decodeTaskResult('<value><array><data><value>x</value><value><int>3</int></value></data></array></value>'), ['x', 3]);
    assert.deepEqual(decodeTaskResult('<value><struct><member><name>k</name><value><boolean>1</boolean></value></member></struct></value>'), { k: true });
  });
});

describe('putFile / getFile', () => {
  it('uploads a buffer and a stream with progress, follows redirects and downloads', async () => {
    const received: Array<{ url: string; len: string | undefined; body: string }> = [];
    const store = new Map<string, Buffer>();
    const srv = await listen(async (req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/old') {
        res.writeHead(302, { Location: `/import_raw_vdi${u.search}` });
        res.end();
        return;
      }
      if (req.method === 'PUT') {
        const b = await body(req);
        received.push({ url: req.url!, len: req.headers['content-length'], body: b.toString() });
        store.set(u.searchParams.get('vdi')!, b);
        res.end('OpaqueRef:task');
        return;
      }
      const data = store.get(u.searchParams.get('vdi') ?? '');
      if (!data) { res.writeHead(404); res.end('missing'); return; }
      res.end(data);
    });
    const c = new XapiClient({ url: `http://127.0.0.1:${srv.port}` });
    c.useSession('OpaqueRef:s1');
    try {
      const seen: number[] = [];
      const big = Buffer.alloc(200_000, 7);
      const r = await c.putFile('/import_raw_vdi', { vdi: 'a' }, big, { onProgress: (n) => seen.push(n) });
      assert.equal(r.body, 'OpaqueRef:task');
      assert.equal(seen.at(-1), big.length);
      assert.equal(received[0]!.len, String(big.length));
      assert.match(received[0]!.url, /session_id=OpaqueRef%3As1/);
      await c.putFile('/old', { vdi: 'b' }, Buffer.from('hello'));
      assert.equal(received.at(-1)!.body, 'hello');
      await c.putFile('/import_raw_vdi', { vdi: 'c' }, Readable.from([Buffer.from('str'), Buffer.from('eam')]));
      assert.equal(received.at(-1)!.len, undefined);
      const chunks: Buffer[] = [];
      for await (const ch of await c.getFile('/export_raw_vdi', { vdi: 'c' })) chunks.push(ch as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), 'stream');
      await assert.rejects(c.getFile('/export_raw_vdi', { vdi: 'zz' }), (e) => e instanceof HttpStatusError && e.status === 404);
    } finally {
      c.close();
      await srv.close();
    }
  });
});

describe('the connection of a file upload', () => {
  it('is its own, opened ahead by prepareUpload, and the calls keep their keep-alive connection', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'islet-upload-conn-'));
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const file = join(dir, 'disk.raw');
    await writeFile(file, data);
    /** Connections in the order the server accepted them (1, 2, ...). */
    const number = new Map<object, number>();
    const calls: Array<{ method: string; conn: number }> = [];
    const uploads: Array<{ conn: number; sha: string; bytes: number }> = [];
    const srv = http.createServer(async (req, res) => {
      const conn = number.get(req.socket)!;
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/jsonrpc') {
        const { method, id } = JSON.parse((await body(req)).toString()) as { method: string; id: number };
        calls.push({ method, conn });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', result: 'ok', id }));
        return;
      }
      if (u.pathname === '/moved') {
        req.resume();
        res.writeHead(302, { Location: `/import_raw_vdi${u.search}`, connection: 'close' }).end();
        return;
      }
      const b = await body(req);
      uploads.push({ conn, bytes: b.length, sha: createHash('sha256').update(b).digest('hex') });
      // As xapi and islet do: an upload's connection is closed after its answer.
      res.writeHead(200, { connection: 'close' }).end();
    });
    srv.on('connection', (s) => number.set(s, number.size + 1));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const c = new XapiClient({ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` });
    c.useSession('OpaqueRef:s');
    try {
      await c.call('VDI.get_by_uuid', 'u');
      c.prepareUpload();
      await c.call('task.create', 'import', '');
      await c.putFile('/import_raw_vdi', { vdi: 'a' }, { path: file });
      await c.call('task.get_record', 't');
      // A redirected upload: the connection opened ahead goes to the first host, the next
      // hop gets one of its own.
      c.prepareUpload();
      await c.putFile('/moved', { vdi: 'b' }, { path: file });
      await c.call('task.destroy', 't');
      const sha = createHash('sha256').update(data).digest('hex');
      assert.deepEqual(uploads, [{ conn: 2, bytes: data.length, sha }, { conn: 4, bytes: data.length, sha }]);
      assert.deepEqual(calls.map((x) => x.conn), [1, 1, 1, 1], 'every call on the first connection, before and after the uploads');
      assert.equal(number.size, 4, 'one connection for the calls, one per upload hop');
    } finally {
      c.close();
      await new Promise((r) => { srv.closeAllConnections(); srv.close(r); });
      await rm(dir, { recursive: true, force: true });
    }
  });
});
