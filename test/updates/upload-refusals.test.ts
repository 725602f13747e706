/**
 * `PUT /pool_patch_upload` refusing bad packages on a real server: tampered payload, a key
 * the pool does not trust, no signature, `../` paths, symlinks, oversize claims. Each gets
 * the right XenAPI error through its task, and nothing is stored: no file left under
 * `<data-dir>/patch/`, no record made. Also the probe PUT Xen Orchestra sends, a member-less
 * HOST_IS_SLAVE-free path, authentication, and the distribution `.zip` accepted as is.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { XapiCallError } from '../../src/client/xapi-call-error.js';
import type { IsletProcess } from '../helpers/islet-server.js';
import { GpgHome } from './package/gpg-home.js';
import { handBuild, UPDATE_UUID } from './package/hand-build.js';
import { rawZip } from './package/raw-zip.js';
import { startUpdateHost, type UpdateFixture, type UpdateHost } from './update-fixture.js';

const PW = 'refuse-pw';

describe('update uploads that are refused', () => {
  let fx: UpdateFixture;
  let srv: IsletProcess;
  let api: XapiClient;

  let host: UpdateHost | undefined;
  before(async () => {
    host = await startUpdateHost(PW);
    ({ fx, srv, api } = host);
  });
  after(async () => {
    await host?.close();
  });

  async function upload(path: string | Buffer): Promise<string> {
    const task = String(await api.call('task.create', 'upload', ''));
    await api.putFile('/pool_patch_upload', { task_id: task }, typeof path === 'string' ? { path } : path);
    try {
      return String(await api.waitTask(task));
    } finally {
      await api.call('task.destroy', task).catch(() => undefined);
    }
  }

  async function refused(path: string | Buffer, code: string, log?: RegExp): Promise<void> {
    await assert.rejects(upload(path), (e: unknown) => {
      assert.ok(e instanceof XapiCallError, String(e));
      assert.equal(e.code, code, e.message);
      if (log) assert.match(e.params[0] ?? '', log);
      return true;
    });
    const left = (await readdir(join(srv.dataDir, 'patch')).catch(() => [])).filter((n) => n !== 'applied');
    assert.deepEqual(left, [], 'nothing stored');
    assert.deepEqual(await api.call('pool_patch.get_all'), []);
    assert.deepEqual(await api.call('pool_update.get_all'), []);
  }

  it('refuses a payload changed after signing (INVALID_PATCH_WITH_LOG)', async () => {
    const f = await fx.build({ afterSign: (pkg) => writeFile(join(pkg, 'payload/opt/islet/VERSION'), 'EVIL\n') });
    await refused(f, 'INVALID_PATCH_WITH_LOG', /VERSION: SHA-256/);
  });

  it('refuses an update signed by a key the pool does not trust (INVALID_PATCH)', async () => {
    const other = await GpgHome.create();
    try {
      const k = await other.genKey('Mallory <m@example.com>', 'ed25519');
      const f = await handBuild({ gpg: other, key: k, work: fx.work, name: 'WRONGKEY' });
      await refused(f, 'INVALID_PATCH');
    } finally {
      await other.close();
    }
  });

  it('refuses an unsigned update (INVALID_PATCH)', async () => {
    await refused(await fx.build({ unsigned: true }), 'INVALID_PATCH');
  });

  it('refuses ../ paths (INVALID_PATCH_WITH_LOG)', async () => {
    const f = await fx.build();
    const pkg = join(f, '..', 'XS602E006');
    const evil = rawZip([
      { name: 'update.json', data: await readFile(join(pkg, 'update.json')) },
      { name: 'update.json.asc', data: await readFile(join(pkg, 'update.json.asc')) },
      { name: 'payload/../../../etc/cron.d/x', data: Buffer.from('* * * * * root sh\n') },
    ]);
    await refused(evil, 'INVALID_PATCH_WITH_LOG', /"\.\." path segment/);
  });

  it('refuses symlinks (INVALID_PATCH_WITH_LOG)', async () => {
    const f = await fx.build({
      zipArgs: ['--symlinks'],
      afterSign: (pkg) => symlink('/etc/shadow', join(pkg, 'payload/opt/islet/shadow')),
    });
    await refused(f, 'INVALID_PATCH_WITH_LOG', /symbolic link/);
  });

  it('refuses garbage and an empty body with a task', async () => {
    await refused(Buffer.from('not an update at all'), 'INVALID_PATCH');
  });

  it('refuses a claimed size over the limit before reading it', async () => {
    const task = String(await api.call('task.create', 'upload', ''));
    const res = await fetch(`http://127.0.0.1:${srv.port}/pool_patch_upload?session_id=${api.sessionId}&task_id=${task}`, {
      method: 'PUT', headers: { 'content-length': String(5 * 1024 ** 3) }, body: 'x', duplex: 'half',
    } as RequestInit).catch((e: Error) => e);
    if (!(res instanceof Error)) assert.equal(res.status, 400);
    const rec = (await api.call('task.get_record', task)) as Record<string, any>;
    assert.equal(rec.status, 'failure');
    assert.equal(rec.error_info[0], 'INVALID_PATCH_WITH_LOG');
  });

  it('answers the empty probe PUT with 200, and refuses no session with 401', async () => {
    const probe = await fetch(`http://127.0.0.1:${srv.port}/pool_patch_upload?session_id=${api.sessionId}`, { method: 'PUT', body: '' });
    assert.equal(probe.status, 200);
    const anon = await fetch(`http://127.0.0.1:${srv.port}/pool_patch_upload`, { method: 'PUT', body: '' });
    assert.equal(anon.status, 401);
    const basic = await fetch(`http://127.0.0.1:${srv.port}/pool_patch_upload`, {
      method: 'PUT', body: '', headers: { authorization: `Basic ${Buffer.from(`root:${PW}`).toString('base64')}` },
    });
    assert.equal(basic.status, 200);
  });

  it('accepts the distribution .zip as is, and without a task answers with the ref', async () => {
    const zip = await fx.build({ wrap: true });
    const res = await api.putFile('/pool_patch_upload', {}, { path: zip });
    assert.match(res.body, /^OpaqueRef:/);
    assert.equal(await api.call('pool_patch.get_uuid', res.body), UPDATE_UUID);
    await api.callAsync('pool_patch.destroy', res.body);
    assert.deepEqual(await api.call('pool_patch.get_all'), []);
    assert.deepEqual((await readdir(join(srv.dataDir, 'patch'))).filter((n) => n !== 'applied'), []);
  });
});
