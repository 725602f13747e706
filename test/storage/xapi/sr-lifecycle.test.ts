/**
 * SRs and PBDs through xe and the XenAPI against a real server: a fresh host's local SR is
 * the pool default; sr-create/probe/destroy with xapi's refusals (and SR.probe_ext's) (SR_HAS_PBD while plugged,
 * SR_NOT_EMPTY while a disk is left); sr-forget then sr-introduce + pbd-create + pbd-plug
 * finds the disks again with their content; a path holding another SR is refused; and a
 * restart plugs the PBDs again. Needs a built tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../../src/client/xapi-client.js';
import { MiB, type StorageFixture, exportDigest, importImage, pattern, sha256, startStorageFixture } from '../acceptance/storage-fixture.js';

type Rec = Record<string, any>;

describe('SR and PBD lifecycle', () => {
  let f: StorageFixture;
  let work: string;
  let hostUuid: string;

  before(async () => {
    f = await startStorageFixture();
    work = await mkdtemp(join(tmpdir(), 'sr-life-'));
    const [host] = await f.api.call('host.get_all') as string[];
    hostUuid = String(await f.api.call('host.get_uuid', host));
  });
  after(async () => {
    await f?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('a fresh host has a plugged local file SR as the pool default', async () => {
    const sr = await f.api.call('SR.get_record', f.sr) as Rec;
    assert.equal(sr.name_label, 'Local storage');
    assert.equal(sr.type, 'file');
    assert.equal(sr.shared, false);
    assert.ok(sr.physical_size > 0);
    assert.equal(sr.PBDs.length, 1);
    const pbd = await f.api.call('PBD.get_record', sr.PBDs[0]) as Rec;
    assert.equal(pbd.currently_attached, true);
    assert.match(pbd.device_config.path, new RegExp(`/sr/${sr.uuid}$`));
    const types = (await f.api.call('SR.get_supported_types')) as string[];
    for (const t of ['file', 'netapp', 'equallogic']) assert.ok(types.includes(t), `${t} in ${types.join(', ')}`);
    const list = await f.xeOk('sr-list', `uuid=${sr.uuid}`);
    assert.match(list, /host \( RO\): \S+/);
    assert.match(list, /type \( RO\): file/);
  });

  it('sr-create, sr-probe, and sr-destroy with xapi refusals', async () => {
    const path = join(work, 'one');
    const uuid = await f.xeOk('sr-create', 'name-label=one', 'type=file', `device-config:path=${path}`, 'content-type=user');
    const sr = String(await f.api.call('SR.get_by_uuid', uuid));
    assert.match(await f.xeOk('sr-probe', 'type=file', `device-config:path=${work}`), new RegExp(`<UUID>${uuid}</UUID>`));
    // The structured probe is refused as xapi refuses it for SMAPIv1 drivers, after the
    // probe itself has run: an unknown type or an unusable device-config says so instead.
    const [host] = await f.api.call('host.get_all') as string[];
    await assert.rejects(f.api.call('SR.probe_ext', host, { path: work }, 'file', {}),
      (e: any) => e.code === 'SR_OPERATION_NOT_SUPPORTED' && e.params.length === 0);
    await assert.rejects(f.api.call('SR.probe_ext', host, {}, 'nosuchtype', {}), (e: any) => e.code !== 'SR_OPERATION_NOT_SUPPORTED');
    const vdi = await f.xeOk('vdi-create', `sr-uuid=${uuid}`, 'name-label=left', 'virtual-size=16MiB');
    let r = await f.xe('sr-destroy', `uuid=${uuid}`);
    assert.equal(r.code, 1);
    assert.match(r.err, /SR_HAS_PBD|PBD/);
    const pbd = await f.xeOk('pbd-list', `sr-uuid=${uuid}`, 'params=uuid', '--minimal');
    r = await f.xe('pbd-destroy', `uuid=${pbd}`);
    assert.equal(r.code, 1, 'a plugged PBD cannot be destroyed');
    await f.xeOk('pbd-unplug', `uuid=${pbd}`);
    r = await f.xe('sr-destroy', `uuid=${uuid}`);
    assert.equal(r.code, 1);
    assert.match(r.err, /The SR operation cannot be performed because the SR is not empty\./);
    await f.xeOk('pbd-plug', `uuid=${pbd}`);
    await f.xeOk('vdi-destroy', `uuid=${vdi}`);
    await f.xeOk('pbd-unplug', `uuid=${pbd}`);
    await f.xeOk('sr-destroy', `uuid=${uuid}`);
    await assert.rejects(f.api.call('SR.get_record', sr), /HANDLE_INVALID/);
    await assert.rejects(access(join(path, 'sr.json')));
  });

  it('sr-forget then sr-introduce and pbd-plug find the disks again', async () => {
    const path = join(work, 'two');
    const uuid = await f.xeOk('sr-create', 'name-label=two', 'type=file', `device-config:path=${path}`);
    const vdiUuid = await f.xeOk('vdi-create', `sr-uuid=${uuid}`, 'name-label=kept', 'virtual-size=16MiB');
    const data = pattern(5, 3 * MiB);
    await importImage(f.api, String(await f.api.call('VDI.get_by_uuid', vdiUuid)), data);
    const pbd = await f.xeOk('pbd-list', `sr-uuid=${uuid}`, 'params=uuid', '--minimal');
    let r = await f.xe('sr-forget', `uuid=${uuid}`);
    assert.equal(r.code, 1, 'a plugged SR cannot be forgotten');
    await f.xeOk('pbd-unplug', `uuid=${pbd}`);
    await f.xeOk('sr-forget', `uuid=${uuid}`);
    await assert.rejects(f.api.call('VDI.get_by_uuid', vdiUuid), /UUID_INVALID/);
    assert.equal(await f.xeOk('sr-introduce', `uuid=${uuid}`, 'name-label=two again', 'type=file', 'content-type=user'), uuid);
    const newPbd = await f.xeOk('pbd-create', `host-uuid=${hostUuid}`, `sr-uuid=${uuid}`, `device-config:path=${path}`);
    r = await f.xe('pbd-create', `host-uuid=${hostUuid}`, `sr-uuid=${uuid}`, `device-config:path=${path}`);
    assert.equal(r.code, 1, 'one PBD per host and SR');
    await f.xeOk('pbd-plug', `uuid=${newPbd}`);
    const vdi = String(await f.api.call('VDI.get_by_uuid', vdiUuid));
    const rec = await f.api.call('VDI.get_record', vdi) as Rec;
    assert.equal(rec.virtual_size, 16 * MiB);
    assert.equal((await exportDigest(f.api, vdi)).sha, sha256(Buffer.concat([data, Buffer.alloc(13 * MiB)])));
    const sr = await f.api.call('SR.get_record', String(await f.api.call('SR.get_by_uuid', uuid))) as Rec;
    assert.ok(sr.physical_utilisation >= 3 * MiB && sr.physical_size > 0);
  });

  it('a PBD whose path holds another SR is refused', async () => {
    const a = await f.xeOk('sr-create', 'name-label=a', 'type=file', `device-config:path=${join(work, 'a')}`);
    const b = await f.xeOk('sr-create', 'name-label=b', 'type=file', `device-config:path=${join(work, 'b')}`);
    const pbdB = await f.xeOk('pbd-list', `sr-uuid=${b}`, 'params=uuid', '--minimal');
    await f.xeOk('pbd-unplug', `uuid=${pbdB}`);
    await f.xeOk('pbd-destroy', `uuid=${pbdB}`);
    const wrong = await f.xeOk('pbd-create', `host-uuid=${hostUuid}`, `sr-uuid=${b}`, `device-config:path=${join(work, 'a')}`);
    const r = await f.xe('pbd-plug', `uuid=${wrong}`);
    assert.equal(r.code, 1);
    assert.match(r.err + r.out, new RegExp(a));
    assert.equal(await f.xeOk('pbd-param-get', `uuid=${wrong}`, 'param-name=currently-attached'), 'false');
  });

  it('a restart plugs the PBDs again and keeps the disks', async () => {
    const uuid = await f.xeOk('vdi-create', `sr-uuid=${String(await f.api.call('SR.get_uuid', f.sr))}`, 'name-label=survivor', 'virtual-size=8MiB');
    const data = pattern(9, 1 * MiB);
    await importImage(f.api, String(await f.api.call('VDI.get_by_uuid', uuid)), data);
    await f.islet.kill9();
    const again = await f.islet.restart();
    const api = new XapiClient({ url: again.url });
    try {
      await api.login('root', 'storage-pw');
      const pbds = await api.call('PBD.get_all_records') as Record<string, Rec>;
      const local = Object.values(pbds).find((p) => p.SR === f.sr)!;
      assert.equal(local.currently_attached, true);
      const vdi = String(await api.call('VDI.get_by_uuid', uuid));
      assert.equal((await exportDigest(api, vdi)).sha, sha256(Buffer.concat([data, Buffer.alloc(7 * MiB)])));
      const tpl = await api.call('VM.get_by_name_label', 'Other install media') as string[];
      assert.equal(tpl.length, 1, 'the built-in template is made once');
    } finally {
      await api.logout().catch(() => undefined);
      api.close();
      await again.stop();
    }
  });
});
