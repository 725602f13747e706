/**
 * `pool_update.introduce(vdi)` on a real `islet server`: an update file written into a VDI of
 * the local SR with `PUT /import_raw_vdi` (`xe vdi-import`), then introduced
 * (`xe update-introduce vdi-uuid=`), is verified exactly as an upload and made known with
 * `pool_update.vdi` naming the disk and its own uuid (derived from the pool_patch's, which
 * names the stored file); the same VDI again gives the same update, another VDI
 * holding it UPDATE_ALREADY_EXISTS [update uuid]; tampered, unsigned, untrusted, `../` and symlink
 * packages, a blank disk and a disk holding something else are refused with INVALID_UPDATE
 * and leave nothing stored. `xe update-upload sr-uuid=` takes the distribution zip that
 * way, the introduced update applies, and `update-pool-clean` destroys its VDI, as xapi's
 * does.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { XapiCallError } from '../../src/client/xapi-call-error.js';
import type { IsletProcess } from '../helpers/islet-server.js';
import { GpgHome, run } from './package/gpg-home.js';
import { handBuild, UPDATE_UUID } from './package/hand-build.js';
import { rawZip } from './package/raw-zip.js';
import { twinUuid } from '../../src/updates/patch-records.js';
import { startUpdateHost, type UpdateFixture, type UpdateHost } from './update-fixture.js';

const PW = 'intro-pw';
const MiB = 1024 * 1024;

describe('pool_update.introduce from a VDI', () => {
  let fx: UpdateFixture;
  let srv: IsletProcess;
  let api: XapiClient;
  let sr: string;
  let srUuid: string;
  const xe = (...a: string[]) => fx.xe(['-s', '127.0.0.1', '-p', String(srv.port), '-u', 'root', '-pw', PW, ...a]);

  let host: UpdateHost | undefined;
  before(async () => {
    host = await startUpdateHost(PW);
    ({ fx, srv, api } = host);
    sr = String(await api.call('pool.get_default_SR', ((await api.call('pool.get_all')) as string[])[0]));
    srUuid = String(await api.call('SR.get_uuid', sr));
  });
  after(async () => {
    await host?.close();
  });

  /** A new VDI holding `content` (a path or bytes), written with `xe vdi-import`; its uuid. */
  async function vdiHolding(content: string | Buffer, name = 'update disk'): Promise<string> {
    const file = typeof content === 'string' ? content : join(fx.work, `blob-${Math.random().toString(36).slice(2)}`);
    if (typeof content !== 'string') await writeFile(file, content);
    const create = await xe('vdi-create', `sr-uuid=${srUuid}`, `name-label=${name}`, 'virtual-size=4MiB', 'type=user');
    assert.equal(create.code, 0, create.err);
    const uuid = create.out.trim();
    if (typeof content === 'string' || content.length) {
      const imp = await xe('vdi-import', `uuid=${uuid}`, `filename=${file}`, 'format=raw');
      assert.equal(imp.code, 0, imp.err);
    }
    return uuid;
  }

  const storedFiles = async () => (await readdir(join(srv.dataDir, 'patch')).catch(() => [] as string[])).filter((n) => n !== 'applied').sort();

  async function refused(vdiUuid: string, info: RegExp): Promise<void> {
    const filesBefore = await storedFiles();
    const updatesBefore = ((await api.call('pool_update.get_all')) as string[]).length;
    const vdi = await api.call('VDI.get_by_uuid', vdiUuid);
    await assert.rejects(api.callAsync('pool_update.introduce', vdi), (e: unknown) => {
      assert.ok(e instanceof XapiCallError, String(e));
      assert.equal(e.code, 'INVALID_UPDATE', e.message);
      assert.match(e.params[0] ?? '', info);
      return true;
    });
    assert.deepEqual(await storedFiles(), filesBefore, 'nothing stored');
    assert.equal(((await api.call('pool_update.get_all')) as string[]).length, updatesBefore, 'no record made');
  }

  it('refuses what an upload refuses, with INVALID_UPDATE, storing nothing', async () => {
    await refused(await vdiHolding(await fx.build({ afterSign: (pkg) => writeFile(join(pkg, 'payload/opt/islet/VERSION'), 'EVIL\n') })), /VERSION: SHA-256/);
    await refused(await vdiHolding(await fx.build({ unsigned: true })), /signed by a key the pool trusts/);
    const other = await GpgHome.create();
    try {
      const k = await other.genKey('Mallory <m@example.com>', 'ed25519');
      await refused(await vdiHolding(await handBuild({ gpg: other, key: k, work: fx.work, name: 'WRONGKEY' })), /signed by a key the pool trusts/);
    } finally {
      await other.close();
    }
    const good = await fx.build();
    const pkg = join(good, '..', 'XS602E006');
    await refused(await vdiHolding(rawZip([
      { name: 'update.json', data: await readFile(join(pkg, 'update.json')) },
      { name: 'update.json.asc', data: await readFile(join(pkg, 'update.json.asc')) },
      { name: 'payload/../../../etc/cron.d/x', data: Buffer.from('* * * * * root sh\n') },
    ])), /"\.\." path segment/);
    await refused(await vdiHolding(await fx.build({
      zipArgs: ['--symlinks'], afterSign: (p) => symlink('/etc/shadow', join(p, 'payload/opt/islet/shadow')),
    })), /symbolic link/);
    await refused(await vdiHolding(Buffer.alloc(0), 'blank'), /reads as zeroes/);
    await refused(await vdiHolding(Buffer.from('CD001 an ISO image, as xapi took'), 'iso'), /does not hold an update file/);
  });

  it('xe update-introduce makes the update known, with its VDI; again from the same VDI, the same update', async () => {
    const file = await fx.build();
    const disk = await vdiHolding(file);
    const r = await xe('update-introduce', `vdi-uuid=${disk}`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), twinUuid(UPDATE_UUID));
    assert.notEqual(twinUuid(UPDATE_UUID), UPDATE_UUID);
    const upd = await api.call('pool_update.get_by_uuid', twinUuid(UPDATE_UUID));
    const rec = (await api.call('pool_update.get_record', upd)) as Record<string, any>;
    assert.equal(rec.vdi, await api.call('VDI.get_by_uuid', disk));
    assert.equal(rec.name_label, 'XS602E006');
    assert.equal(rec.key, fx.key.fingerprint);
    const patch = await api.call('pool_patch.get_by_uuid', UPDATE_UUID);
    assert.equal(await api.call('pool_patch.get_pool_update', patch), upd);
    assert.deepEqual(await storedFiles(), [`${UPDATE_UUID}.xsupdate`]);
    assert.deepEqual(await readFile(join(srv.dataDir, 'patch', `${UPDATE_UUID}.xsupdate`)), await readFile(file), 'the file as built, not the disk');

    const again = await xe('update-introduce', `vdi-uuid=${disk}`);
    assert.equal(again.code, 0, again.err);
    assert.equal(again.out.trim(), twinUuid(UPDATE_UUID));
    assert.equal(((await api.call('pool_update.get_all')) as string[]).length, 1);
  });

  it('the same update from another VDI: UPDATE_ALREADY_EXISTS [uuid]', async () => {
    const second = await api.call('VDI.get_by_uuid', await vdiHolding(await fx.build()));
    await assert.rejects(api.callAsync('pool_update.introduce', second), (e: unknown) => {
      assert.ok(e instanceof XapiCallError);
      assert.equal(e.code, 'UPDATE_ALREADY_EXISTS');
      assert.deepEqual(e.params, [twinUuid(UPDATE_UUID)]);
      return true;
    });
    const dup = await xe('update-introduce', `vdi-uuid=${await api.call('VDI.get_uuid', second)}`);
    assert.equal(dup.code, 1);
    assert.equal(dup.err, `The uploaded update already exists\nuuid: ${twinUuid(UPDATE_UUID)}\n`, 'XenServer\'s text for UPDATE_ALREADY_EXISTS');
  });

  it('xe update-upload sr-uuid= takes the distribution zip through a VDI; it applies; update-pool-clean destroys the VDI', async () => {
    const inner = await fx.custom({ name: 'XS602E010' });
    const zip = join(inner.path, '..', 'XS602E010.zip');
    await writeFile(join(inner.path, '..', 'README.txt'), 'Hotfix XS602E010\n');
    await run('zip', ['-q', '-j', zip, inner.path, join(inner.path, '..', 'README.txt')]);
    const vdisBefore = ((await api.call('SR.get_VDIs', sr)) as string[]).length;
    const up = await xe('update-upload', `file-name=${zip}`, `sr-uuid=${srUuid}`);
    assert.equal(up.code, 0, up.err);
    assert.equal(up.out.trim(), twinUuid(inner.uuid));
    assert.equal(up.err, '', 'no progress bar when stderr is not a terminal');
    const upd = await api.call('pool_update.get_by_uuid', twinUuid(inner.uuid));
    const vdi = String(await api.call('pool_update.get_vdi', upd));
    assert.equal(((await api.call('SR.get_VDIs', sr)) as string[]).length, vdisBefore + 1);
    assert.equal(await api.call('VDI.get_SR', vdi), sr);

    const host = String(await api.call('host.get_uuid', ((await api.call('host.get_all')) as string[])[0]));
    const apply = await xe('update-apply', `uuid=${twinUuid(inner.uuid)}`, `host-uuid=${host}`);
    assert.equal(apply.code, 0, apply.err);
    assert.equal((await api.call('pool_update.get_hosts', upd) as string[]).length, 1);

    const clean = await xe('update-pool-clean', `uuid=${twinUuid(inner.uuid)}`);
    assert.equal(clean.code, 0, clean.err);
    assert.equal(await api.call('pool_update.get_vdi', upd), 'OpaqueRef:NULL');
    assert.equal(((await api.call('SR.get_VDIs', sr)) as string[]).includes(vdi), false, 'the VDI is destroyed');
    assert.ok(!(await storedFiles()).includes(`${inner.uuid}.xsupdate`));
  });

  it('a refused update-upload sr-uuid= leaves no VDI behind', async () => {
    const vdisBefore = ((await api.call('SR.get_VDIs', sr)) as string[]).length;
    const r = await xe('update-upload', `file-name=${await fx.build({ unsigned: true })}`, `sr-uuid=${srUuid}`);
    assert.equal(r.code, 1);
    assert.match(r.err, /^The uploaded update package is invalid\.\ninfo: not an update signed by a key the pool trusts\n$/, 'XenServer\'s text for INVALID_UPDATE');
    assert.equal(((await api.call('SR.get_VDIs', sr)) as string[]).length, vdisBefore);
  });

  it('an uploaded update (no VDI) takes the VDI it is then introduced from', async () => {
    const u = await fx.custom({ name: 'XS602E011' });
    const ref = (await api.putFile('/pool_patch_upload', {}, { path: u.path })).body;
    const upd = await api.call('pool_patch.get_pool_update', ref);
    assert.equal(await api.call('pool_update.get_vdi', upd), 'OpaqueRef:NULL');
    const disk = await api.call('VDI.get_by_uuid', await vdiHolding(u.path));
    assert.equal(await api.callAsync('pool_update.introduce', disk), upd);
    assert.equal(await api.call('pool_update.get_vdi', upd), disk);
  });

  it('introduce needs a VDI that exists', async () => {
    await assert.rejects(api.callAsync('pool_update.introduce', 'OpaqueRef:NULL'), (e: unknown) => e instanceof XapiCallError && e.code === 'HANDLE_INVALID');
  });
});
