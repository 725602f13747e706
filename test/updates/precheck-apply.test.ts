/**
 * Prechecks and apply on a real server, each refusal with xapi's code: wrong product
 * version, missing prerequisite, conflict, not enough space, the package's own precheck
 * failing, an apply hook failing (everything rolled back: software root as before, no marker,
 * no record), a hook over its time limit, and hooks run with a clean environment. Also the
 * pool_update face (precheck answers `ok`, UPDATE_ALREADY_APPLIED_IN_POOL), and Xen
 * Orchestra's own `xen-api` client uploading with `putResource` and getting the patch's ref.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
// @ts-expect-error xen-api ships no types
import { createClient } from 'xen-api';
import { XapiClient } from '../../src/client/xapi-client.js';
import { XapiCallError } from '../../src/client/xapi-call-error.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { UPDATE_UUID } from './package/hand-build.js';
import { UpdateFixture } from './update-fixture.js';

const PW = 'pa-pw';
type Rec = Record<string, any>;

describe('precheck and apply', () => {
  let fx: UpdateFixture;
  let srv: IsletProcess;
  let api: XapiClient;
  let hostRef: string;

  before(async () => {
    fx = await UpdateFixture.create();
    srv = await startIslet({
      rootPassword: PW, args: ['--update-key', fx.keyFile],
      // The default hook time limit: the hooks here that must run to their end are never
      // killed by a machine that is merely slow. The over-time test has a server of its own.
      env: { ISLET_TEST_SECRET: 'do-not-leak' },
    });
    api = new XapiClient({ url: `https://127.0.0.1:${srv.port}` });
    await api.login('root', PW);
    hostRef = ((await api.call('host.get_all')) as string[])[0]!;
  });
  after(async () => {
    api?.close();
    await srv?.stop();
    await fx?.close();
  });

  async function upload(path: string, to = api): Promise<string> {
    const r = await to.putFile('/pool_patch_upload', {}, { path });
    return r.body;
  }
  async function fails(p: Promise<unknown>, code: string): Promise<XapiCallError> {
    let err: unknown;
    await p.catch((e) => { err = e; });
    assert.ok(err instanceof XapiCallError, `expected ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  const markers = async () => (await readdir(join(srv.dataDir, 'patch/applied')).catch(() => [])).filter((n) => !n.startsWith('.'));

  it('refuses an update for another product version', async () => {
    const u = await fx.custom({ name: 'NEWER', manifest: { applies_to: { product: 'XenServer', min: '7.0', max: '7.0' } } });
    const ref = await upload(u.path);
    const e = await fails(api.callAsync('pool_patch.precheck', ref, hostRef), 'PATCH_PRECHECK_FAILED_WRONG_SERVER_VERSION');
    assert.deepEqual(e.params, [ref, 'XenServer 6.0.2', 'XenServer 7.0']);
    await fails(api.callAsync('pool_patch.apply', ref, hostRef), 'PATCH_PRECHECK_FAILED_WRONG_SERVER_VERSION');
    const ue = await fails(api.callAsync('pool_update.precheck', await api.call('pool_patch.get_pool_update', ref), hostRef), 'UPDATE_PRECHECK_FAILED_WRONG_SERVER_VERSION');
    assert.equal(ue.params[1], 'XenServer 6.0.2');
  });

  it('refuses an update whose prerequisite is not applied', async () => {
    const u = await fx.custom({ name: 'NEEDS', manifest: { requires: [UPDATE_UUID] } });
    const ref = await upload(u.path);
    const e = await fails(api.callAsync('pool_patch.apply', ref, hostRef), 'PATCH_PRECHECK_FAILED_PREREQUISITE_MISSING');
    assert.deepEqual(e.params, [ref, UPDATE_UUID]);
  });

  it('refuses an update that needs more space than there is', async () => {
    const u = await fx.custom({ name: 'HUGE', manifest: { installation_size: 1e15 } });
    const ref = await upload(u.path);
    const e = await fails(api.callAsync('pool_patch.precheck', ref, hostRef), 'PATCH_PRECHECK_FAILED_OUT_OF_SPACE');
    assert.equal(e.params[2], '1000000000000000');
  });

  it('reports the package\'s own precheck failing, with its output', async () => {
    const u = await fx.custom({ name: 'PRECHK', hooks: { precheck: '#!/bin/sh\necho "license missing" >&2\nexit 3\n' } });
    const ref = await upload(u.path);
    const e = await fails(api.callAsync('pool_patch.precheck', ref, hostRef), 'PATCH_PRECHECK_FAILED_UNKNOWN_ERROR');
    assert.match(e.params[1]!, /exited with status 3: license missing/);
  });

  it('rolls an apply back when its hook fails: same software root, no marker, no record', async () => {
    const before = existsSync(join(srv.dataDir, 'software')) ? await readdir(join(srv.dataDir, 'software')) : undefined;
    const u = await fx.custom({ name: 'BADAPPLY', payload: { 'opt/islet/new-file': 'x\n' }, hooks: { apply: '#!/bin/sh\necho boom\nexit 1\n' } });
    const ref = await upload(u.path);
    const e = await fails(api.callAsync('pool_patch.apply', ref, hostRef), 'PATCH_APPLY_FAILED');
    assert.match(e.params[0]!, /boom/);
    const after = existsSync(join(srv.dataDir, 'software')) ? await readdir(join(srv.dataDir, 'software')) : undefined;
    assert.deepEqual(after, before);
    assert.ok(!existsSync(join(srv.dataDir, 'software/opt/islet/new-file')));
    assert.deepEqual(await markers(), []);
    assert.deepEqual(await api.call('pool_patch.get_host_patches', ref), []);
    assert.ok(!existsSync(join(srv.dataDir, 'software.prev')) && !existsSync(join(srv.dataDir, 'software.next')));
  });

  it('kills a hook that outlives its time limit', async () => {
    // A 1.5 s limit on a server of its own, so that no hook meant to finish runs under it.
    const quick = await startIslet({ rootPassword: PW, args: ['--update-key', fx.keyFile], env: { ISLET_HOOK_TIMEOUT_MS: '1500' } });
    const c = new XapiClient({ url: `https://127.0.0.1:${quick.port}` });
    try {
      await c.login('root', PW);
      const host = ((await c.call('host.get_all')) as string[])[0]!;
      const u = await fx.custom({ name: 'SLOW', hooks: { precheck: '#!/bin/sh\nsleep 300\n' } });
      const ref = await upload(u.path, c);
      const t0 = Date.now();
      const e = await fails(c.callAsync('pool_patch.precheck', ref, host), 'PATCH_PRECHECK_FAILED_UNKNOWN_ERROR');
      assert.match(e.params[1]!, /did not finish within 2 s/);
      // Killed, not waited for: far less than the hook's 300 s (a bound no slowness reaches).
      assert.ok(Date.now() - t0 < 120_000, `precheck answered after ${Date.now() - t0} ms`);
    } finally {
      c.close();
      await quick.stop();
    }
  });

  it('applies with hooks run in a clean environment, through the pool_update calls', async () => {
    const u = await fx.custom({
      name: 'GOOD', payload: { 'opt/islet/good': 'good\n' },
      hooks: { precheck: '#!/bin/sh\necho precheck ok\n', apply: '#!/bin/sh\nenv > "$ISLET_SOFTWARE_ROOT/hook-env"\necho applied\n' },
    });
    const ref = await upload(u.path);
    const upd = String(await api.call('pool_patch.get_pool_update', ref));
    assert.equal(await api.callAsync('pool_update.precheck', upd, hostRef), 'ok');
    await api.callAsync('pool_update.pool_apply', upd);
    const env = readFileSync(join(srv.dataDir, 'software/hook-env'), 'utf8');
    assert.match(env, new RegExp(`ISLET_UPDATE_UUID=${u.uuid}`));
    assert.doesNotMatch(env, /ISLET_TEST_SECRET|do-not-leak|ISLET_ROOT_PASSWORD/);
    assert.equal(readFileSync(join(srv.dataDir, 'software/opt/islet/good'), 'utf8'), 'good\n');
    assert.deepEqual(await markers(), [u.uuid]);
    await fails(api.callAsync('pool_update.pool_apply', upd), 'UPDATE_ALREADY_APPLIED_IN_POOL');
    await fails(api.callAsync('pool_update.destroy', upd), 'UPDATE_IS_APPLIED');
    const pu = (await api.call('pool_update.get_record', upd)) as Rec;
    assert.deepEqual(pu.hosts, [hostRef]);
    const h = (await api.call('host.get_record', hostRef)) as Rec;
    assert.ok(h.updates.includes(upd));
  });

  it('refuses an update that conflicts with an applied one', async () => {
    // A manifest names other updates by their own uuid, which is the pool_patch's.
    const good = String(await api.call('pool_patch.get_by_name_label', 'GOOD').then((x) => (x as string[])[0]));
    const goodUuid = String(await api.call('pool_patch.get_uuid', good));
    const u = await fx.custom({ name: 'CONFLICT', manifest: { conflicts: [goodUuid] } });
    const ref = await upload(u.path);
    const e = await fails(api.callAsync('pool_patch.precheck', ref, hostRef), 'UPDATE_PRECHECK_FAILED_CONFLICT_PRESENT');
    assert.deepEqual(e.params, [ref, goodUuid]);
  });

  it('Xen Orchestra\'s xen-api putResource uploads an update and gets the patch\'s ref', async () => {
    const file = await fx.build();
    const xo = createClient({ url: `https://127.0.0.1:${srv.port}`, auth: { user: 'root', password: PW }, allowUnauthorized: true, debounce: 0 });
    await xo.connect();
    try {
      // A stream without a length: the client claims 1 PiB and cuts the connection after the last byte.
      const stream = createReadStream(file);
      const result = await xo.putResource(stream, '/pool_patch_upload', { task: await xo.createTask('upload patch') });
      assert.match(String(result), /^OpaqueRef:/);
      assert.equal(await api.call('pool_patch.get_uuid', result), UPDATE_UUID);
      // A 6.0.2 host lists no pool_update class: looking the uuid up finds the pool_patch.
      await xo.objectsFetched;
      const deadline = Date.now() + 10_000;
      while (xo.getObjectByUuid(UPDATE_UUID, undefined) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(xo.getObjectByUuid(UPDATE_UUID).$type, 'pool_patch');
      assert.ok(!Object.values(xo.objects.all).some((o: any) => o.$type === 'pool_update'), 'no pool_update twin listed');
      // And with a known length.
      await api.callAsync('pool_patch.destroy', result);
      const body = readFileSync(file);
      const again = await xo.putResource(body, '/pool_patch_upload', { task: await xo.createTask('upload patch') });
      assert.equal(await api.call('pool_patch.get_uuid', again), UPDATE_UUID);
    } finally {
      await xo.disconnect();
    }
  });
});
