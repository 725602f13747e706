/**
 * Blobs end to end on a real host: `create_new_blob` files a new blob in its owner's
 * `blobs` map, `PUT /blob` stores bytes that `GET /blob` gives back exactly with the mime
 * type, the record's size and last_updated follow, public blobs are readable without a
 * session and private ones are not, an unknown blob and an oversized body are refused
 * (nothing stored), blob.destroy and VM.destroy take record, map entry and data with them,
 * and the data survives a restart of the host, which drops data no record names.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { completeRecord } from '../../src/client/create-record.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { call, jsonRpc, login } from '../helpers/rpc.js';

const MiB = 1024 * 1024;
/** The cap this host is started with, so that an oversized body stays small. */
const MAX = 2 * MiB;

describe('blobs', { timeout: 120_000 }, () => {
  let srv: IsletProcess;
  let s: string;
  let pool: string;

  const blobUrl = (query: string) => `${srv.url}/blob?${query}`;
  const put = (query: string, body: Buffer, headers: Record<string, string> = {}) =>
    fetch(blobUrl(query), { method: 'PUT', body: new Uint8Array(body), headers });
  const get = async (query: string, headers: Record<string, string> = {}) => {
    const res = await fetch(blobUrl(query), { headers });
    return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
  };
  const blobFiles = async () => (await readdir(join(srv.dataDir, 'blobs')).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  const newVm = (name: string) => call(srv.url, 'VM.create', s, completeRecord('VM', {
    name_label: name, VCPUs_max: 1, VCPUs_at_startup: 1,
    memory_static_max: 256 * MiB, memory_dynamic_max: 256 * MiB, memory_dynamic_min: 256 * MiB, memory_static_min: 128 * MiB,
  }));

  before(async () => {
    srv = await startIslet({ args: ['--spawn-hypervisor', 'false'], env: { ISLET_MAX_BLOB_BYTES: String(MAX) } });
    s = await login(srv.url, srv.rootPassword);
    [pool] = await call(srv.url, 'pool.get_all', s);
  });
  after(async () => srv?.stop());

  it('files a new blob in the owner\'s map: pool and VM; a name taken is refused', async () => {
    const blob = await call(srv.url, 'pool.create_new_blob', s, pool, 'notes', 'text/plain', false);
    assert.deepEqual(await call(srv.url, 'pool.get_blobs', s, pool), { notes: blob });
    const rec = await call(srv.url, 'blob.get_record', s, blob);
    assert.equal(rec.mime_type, 'text/plain');
    assert.equal(rec.size, 0);
    assert.equal(rec.public, false);
    assert.equal(rec.name_label, '');

    const vm = await newVm('with blobs');
    const icon = await call(srv.url, 'VM.create_new_blob', s, vm, 'icon', '', true);
    assert.deepEqual(await call(srv.url, 'VM.get_blobs', s, vm), { icon });
    assert.equal(await call(srv.url, 'blob.get_mime_type', s, icon), 'application/octet-stream', 'an empty mime type means bytes');

    const dup = await jsonRpc(srv.url, 'VM.create_new_blob', [s, vm, 'icon', 'image/png', false]);
    assert.equal(dup.error.message, 'MAP_DUPLICATE_KEY');
    assert.deepEqual(await call(srv.url, 'VM.get_blobs', s, vm), { icon }, 'the map is unchanged');
    assert.equal((await call(srv.url, 'blob.get_all', s)).length, 2, 'no blob left behind by the refusal');
  });

  it('round-trips 1 MiB of random bytes with the mime type, and records size and time', async () => {
    const blob = await call(srv.url, 'pool.create_new_blob', s, pool, 'data', 'application/x-test', false);
    const before_ = await call(srv.url, 'blob.get_last_updated', s, blob);
    const unwritten = await get(`session_id=${s}&ref=${blob}`);
    assert.equal(unwritten.status, 404, 'a blob never written has no data to read, as in xapi');
    const data = randomBytes(MiB);
    const t0 = Date.now();
    const res = await put(`session_id=${s}&ref=${blob}`, data);
    assert.equal(res.status, 200, await res.text());
    const got = await get(`session_id=${s}&ref=${blob}`);
    assert.equal(got.status, 200);
    assert.equal(got.type, 'application/x-test');
    assert.ok(got.body.equals(data), 'the bytes come back exactly');
    assert.equal(await call(srv.url, 'blob.get_size', s, blob), MiB);
    const after_ = await call(srv.url, 'blob.get_last_updated', s, blob);
    assert.notEqual(after_, before_);
    const when = Date.parse(String(after_).replace(/^(\d{4})(\d{2})(\d{2})T/, '$1-$2-$3T'));
    assert.ok(when >= Math.floor(t0 / 1000) * 1000 - 1000 && when <= Date.now() + 1000, `last_updated ${after_} is now`);

    // Named by uuid, and written again: the new data replaces the old whole.
    const uuid = await call(srv.url, 'blob.get_uuid', s, blob);
    const smaller = Buffer.from('second version');
    assert.equal((await put(`session_id=${s}&uuid=${uuid}`, smaller)).status, 200);
    assert.ok((await get(`session_id=${s}&uuid=${uuid}`)).body.equals(smaller));
    assert.equal(await call(srv.url, 'blob.get_size', s, blob), smaller.length);
  });

  it('serves a public blob without a session, and a private one only with one', async () => {
    const open = await call(srv.url, 'pool.create_new_blob', s, pool, 'open', 'text/plain', true);
    const closed = await call(srv.url, 'pool.create_new_blob', s, pool, 'closed', 'text/plain', false);
    assert.equal((await put(`session_id=${s}&ref=${open}`, Buffer.from('hello world'))).status, 200);
    assert.equal((await put(`session_id=${s}&ref=${closed}`, Buffer.from('secret'))).status, 200);

    const anyone = await get(`ref=${open}`);
    assert.equal(anyone.status, 200);
    assert.equal(anyone.body.toString(), 'hello world');
    assert.equal((await get(`ref=${closed}`)).status, 401);
    assert.equal((await get(`ref=${closed}&session_id=OpaqueRef:not-a-session`)).status, 401);
    const basic = { authorization: `Basic ${Buffer.from(`root:${srv.rootPassword}`).toString('base64')}` };
    assert.equal((await get(`ref=${closed}`, basic)).body.toString(), 'secret', 'Basic credentials do');

    // Writing needs a session even to a public blob, and vm-power-admin.
    assert.equal((await put(`ref=${open}`, Buffer.from('vandal'))).status, 401);
    const roles = await call(srv.url, 'role.get_by_name_label', s, 'read-only');
    await call(srv.url, 'subject.islet_create_local_user', s, 'blob-reader', 'reader-pw', roles[0]);
    const reader = await login(srv.url, 'reader-pw', 'blob-reader');
    assert.equal((await get(`session_id=${reader}&ref=${closed}`)).body.toString(), 'secret');
    assert.equal((await put(`session_id=${reader}&ref=${open}`, Buffer.from('vandal'))).status, 403);
    assert.equal((await get(`ref=${open}`)).body.toString(), 'hello world');
  });

  it('refuses an unknown or missing blob', async () => {
    const unknown = await get(`session_id=${s}&ref=OpaqueRef:00000000-0000-0000-0000-000000000000`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.toString(), /HANDLE_INVALID blob/);
    assert.equal((await get(`session_id=${s}&uuid=00000000-0000-0000-0000-000000000000`)).status, 404);
    assert.equal((await get(`session_id=${s}&ref=not-a-ref`)).status, 404);
    const none = await get(`session_id=${s}`);
    assert.equal(none.status, 400);
    assert.match(none.body.toString(), /INVALID_VALUE ref/);
    const res = await put(`session_id=${s}&ref=OpaqueRef:00000000-0000-0000-0000-000000000000`, Buffer.from('x'), { accept: 'application/json' });
    assert.equal(res.status, 404);
    assert.deepEqual((await res.json()).ErrorDescription, ['HANDLE_INVALID', 'blob', 'OpaqueRef:00000000-0000-0000-0000-000000000000']);
  });

  it('refuses a body over the limit and keeps what was there', async () => {
    const blob = await call(srv.url, 'pool.create_new_blob', s, pool, 'big', 'application/octet-stream', false);
    const first = randomBytes(1000);
    assert.equal((await put(`session_id=${s}&ref=${blob}`, first)).status, 200);
    const filesBefore = await blobFiles();
    const res = await put(`session_id=${s}&ref=${blob}`, randomBytes(MAX + 1));
    assert.equal(res.status, 413);
    assert.match(await res.text(), /REQUEST_ENTITY_TOO_LARGE/);
    // Chunked, so that the limit is found only while reading.
    const chunked = await fetch(blobUrl(`session_id=${s}&ref=${blob}`), {
      method: 'PUT',
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 3; i++) c.enqueue(new Uint8Array(randomBytes(MiB)));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.ok((await get(`session_id=${s}&ref=${blob}`)).body.equals(first), 'the old data stays');
    assert.equal(await call(srv.url, 'blob.get_size', s, blob), 1000);
    assert.deepEqual(await blobFiles(), filesBefore, 'nothing new stored');
    assert.deepEqual((await readdir(join(srv.dataDir, 'blobs'))).filter((n) => n.startsWith('.')), [], 'no temporary file left');
  });

  it('blob.destroy removes the record, the map entry and the data', async () => {
    const blob = await call(srv.url, 'pool.create_new_blob', s, pool, 'doomed', 'text/plain', false);
    assert.equal((await put(`session_id=${s}&ref=${blob}`, Buffer.from('bye'))).status, 200);
    const uuid = await call(srv.url, 'blob.get_uuid', s, blob);
    assert.ok((await blobFiles()).includes(uuid));
    await call(srv.url, 'blob.destroy', s, blob);
    assert.equal('doomed' in await call(srv.url, 'pool.get_blobs', s, pool), false);
    assert.equal((await jsonRpc(srv.url, 'blob.get_record', [s, blob])).error.message, 'HANDLE_INVALID');
    assert.equal((await blobFiles()).includes(uuid), false, 'the data is gone');
    assert.equal((await get(`session_id=${s}&ref=${blob}`)).status, 404);
  });

  it('VM.destroy takes the VM\'s blobs with it', async () => {
    const vm = await newVm('short-lived');
    const a = await call(srv.url, 'VM.create_new_blob', s, vm, 'a', 'text/plain', false);
    const b = await call(srv.url, 'VM.create_new_blob', s, vm, 'b', 'text/plain', false);
    assert.equal((await put(`session_id=${s}&ref=${a}`, Buffer.from('aaa'))).status, 200);
    const uuids = [await call(srv.url, 'blob.get_uuid', s, a), await call(srv.url, 'blob.get_uuid', s, b)];
    await call(srv.url, 'VM.destroy', s, vm);
    for (const ref of [a, b]) assert.equal((await jsonRpc(srv.url, 'blob.get_record', [s, ref])).error.message, 'HANDLE_INVALID');
    const files = await blobFiles();
    for (const u of uuids) assert.equal(files.includes(u), false);
  });

  it('keeps the data across a restart of the host, and drops data no blob names', async () => {
    const blob = await call(srv.url, 'pool.create_new_blob', s, pool, 'lasting', 'application/octet-stream', false);
    const data = randomBytes(64 * 1024);
    assert.equal((await put(`session_id=${s}&ref=${blob}`, data)).status, 200);
    await srv.kill9();
    // What a crash between a record's removal and its data's would leave.
    const orphan = '0badb10b-0000-4000-8000-000000000000';
    await writeFile(join(srv.dataDir, 'blobs', orphan), 'nobody names me');
    srv = await srv.restart();
    s = await login(srv.url, srv.rootPassword);
    const got = await get(`session_id=${s}&ref=${blob}`);
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(data));
    assert.equal(await call(srv.url, 'blob.get_size', s, blob), data.length);
    assert.equal((await call(srv.url, 'pool.get_blobs', s, pool)).lasting, blob);
    assert.equal((await blobFiles()).includes(orphan), false, 'the orphaned data was swept');
  });
});
