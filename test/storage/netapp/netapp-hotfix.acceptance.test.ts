/**
 * The XS602E006 hotfix's NetApp items, tried as a user would: `islet sim ontap` (REST +
 * iSCSI), a real `islet pool up --hosts 2`, `xe sr-create type=netapp shared=true`, disks
 * written and read over NBD (qemu-io, nbdcopy), and the array itself asked what it holds.
 * Also: sr-probe's walk, a second SR on the same FlexVol refused, and bad credentials, an
 * unknown aggregate or an unreachable array failing clearly with nothing left on the array.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { diskOf, vmWithDisk } from '../acceptance/storage-fixture.js';
import {
  aggregateUsed, arrayVolumeNames, lunOfVdi, nbdSha256, nbdVerify, nbdWrite, startNetappPool, volumeOfSr, type NetappPool,
} from './netapp-pool-fixture.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
type Rec = Record<string, any>;

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('NetApp SR: the hotfix items against the ONTAP simulator, in a pool of 2', { timeout: 1_800_000 }, () => {
  let f: NetappPool;
  let sr: string;
  let srUuid: string;

  before(async () => {
    f = await startNetappPool();
    srUuid = await f.xeOk('sr-create', 'type=netapp', 'shared=true', 'name-label=NetApp thin', 'content-type=user', ...f.dc({ 'provision-type': 'thin' }));
    sr = String(await f.api.call('SR.get_by_uuid', srUuid));
  });
  after(async () => {
    await f?.stop();
  });

  it('xe sr-create type=netapp makes one thin FlexVol, plugged on both hosts, with the SR identity from the array', async () => {
    const pbds = (await f.api.call('SR.get_PBDs', sr)) as string[];
    assert.equal(pbds.length, 2);
    for (const p of pbds) {
      assert.equal(await f.api.call('PBD.get_currently_attached', p), true);
      const dc = (await f.api.call('PBD.get_device_config', p)) as Record<string, string>;
      assert.equal(dc.password, undefined, 'the PBD keeps no password');
      const secret = String(await f.api.call('secret.get_by_uuid', dc.password_secret));
      assert.equal(await f.api.call('secret.get_value', secret), f.sim.password);
    }
    const pbdList = await f.xeOk('pbd-list', `sr-uuid=${srUuid}`, 'params=device-config');
    assert.doesNotMatch(pbdList, new RegExp(f.sim.password));
    const v = await volumeOfSr(f, srUuid);
    assert.deepEqual([v.guarantee.type, v.space.fractional_reserve, v.space.snapshot.reserve_percent, v.snapshot_policy.name, v.autosize.mode],
      ['none', 0, 0, 'none', 'grow']);
    assert.ok(v.autosize.maximum >= v.size);
  });

  it('xe sr-probe type=netapp walks systems, then aggregates, then the SRs there', async () => {
    const base = f.dc();
    const noPool = base.filter((a) => !a.startsWith('device-config:storagePoolId='));
    const systems = await f.xeOk('sr-probe', 'type=netapp', ...noPool);
    const sysId = /<storageSystemId>(NETAPP__LUN__[0-9A-F]{8})<\/storageSystemId>/.exec(systems)?.[1];
    assert.ok(sysId, systems);
    const pools = await f.xeOk('sr-probe', 'type=netapp', ...noPool, `device-config:storageSystemId=${sysId}`);
    assert.match(pools, /<csl__storagePoolInfo>[\s\S]*<storagePoolId>aggr1<\/storagePoolId>[\s\S]*<sizeInMB>102400<\/sizeInMB>/);
    const srs = await f.xeOk('sr-probe', 'type=netapp', ...base, `device-config:storageSystemId=${sysId}`);
    assert.match(srs, new RegExp(`<UUID>${srUuid}</UUID>`));
  });

  it('hotfix item (1): a thin 1 TiB VDI on an aggregate with 100 GiB free is created and used; thick fails naming the space', async () => {
    const vdiUuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=big', 'type=user', `virtual-size=${TiB}`);
    const vdi = String(await f.api.call('VDI.get_by_uuid', vdiUuid));
    await nbdWrite(f.api, vdi, 900 * GiB, 4 * MiB, 0x5a);
    assert.ok(await nbdVerify(f.api, vdi, 900 * GiB, 4 * MiB, 0x5a));
    const lun = await lunOfVdi(f, vdiUuid);
    assert.equal(lun?.space.size, TiB);
    assert.deepEqual(lun?.space.guarantee, { requested: false, reserved: false });
    assert.equal(lun?.space.used, 4 * MiB);

    const thick = await f.xeOk('sr-create', 'type=netapp', 'shared=true', 'name-label=NetApp thick', 'content-type=user', ...f.dc({ 'provision-type': 'thick' }));
    const volumes = await arrayVolumeNames(f);
    const r = await f.xe('vdi-create', `sr-uuid=${thick}`, 'name-label=bigthick', 'type=user', `virtual-size=${TiB}`);
    assert.notEqual(r.code, 0);
    assert.match(r.out + r.err, /SR_BACKEND_FAILURE_44/);
    assert.match(r.out + r.err, /not enough space in aggregate "aggr1"/);
    assert.deepEqual(await arrayVolumeNames(f), volumes);
    assert.equal((await f.array.list('/api/storage/luns', { 'location.volume.name': (await volumeOfSr(f, thick)).name })).length, 0, 'no LUN left behind');
    await f.xeOk('vdi-destroy', `uuid=${vdiUuid}`);
  });

  let vm = '';
  let vmDisk = '';

  it('hotfix item (2): a VM with a 20 GiB thin disk, 1 GiB written, adds at most 1 GiB + 1% to the aggregate; SR and VDI figures are the array\'s', async () => {
    const before = await aggregateUsed(f);
    ({ vm, vdi: vmDisk } = await vmWithDisk(f.api, sr, 'thin-vm', 20 * GiB));
    await nbdWrite(f.api, vmDisk, 0, GiB, 0x11);
    const added = (await aggregateUsed(f)) - before;
    assert.ok(added >= GiB && added <= GiB * 1.01, `aggregate grew by ${added} bytes`);
    await f.api.call('SR.update', sr);
    const srRec = (await f.api.call('SR.get_record', sr)) as Rec;
    const v = await volumeOfSr(f, srUuid);
    assert.equal(Number(srRec.physical_utilisation), v.space.footprint);
    const vdiUuid = String(await f.api.call('VDI.get_uuid', vmDisk));
    await f.api.call('SR.scan', sr);
    const lun = await lunOfVdi(f, vdiUuid);
    assert.equal(Number(await f.api.call('VDI.get_physical_utilisation', vmDisk)), lun!.space.used);
    assert.equal(lun!.space.used, GiB);
  });

  it('hotfix item (6): 20 snapshots of a VM with 1 GiB written add at most 1% to the volume until data is overwritten', async () => {
    const used0 = (await volumeOfSr(f, srUuid)).space.used as number;
    const aggr0 = await aggregateUsed(f);
    for (let i = 0; i < 20; i++) await f.api.callAsync('VM.snapshot', vm, `s${i}`, []);
    const used1 = (await volumeOfSr(f, srUuid)).space.used as number;
    assert.ok(used1 - used0 <= used0 * 0.01, `volume used grew from ${used0} to ${used1}`);
    assert.ok((await aggregateUsed(f)) - aggr0 <= aggr0 * 0.01);
    await nbdWrite(f.api, vmDisk, 0, 64 * MiB, 0x22);
    const used2 = (await volumeOfSr(f, srUuid)).space.used as number;
    assert.ok(used2 - used1 >= 64 * MiB && used2 - used1 <= 64 * MiB * 1.01, `an overwrite of 64 MiB grew the volume by ${used2 - used1}`);
  });

  it('hotfix item (8): a snapshot of a thin VM is thin (LUN unreserved, read back from the array)', async () => {
    const snap = String(await f.api.callAsync('VM.snapshot', vm, 'thin-check', []));
    const disk = await diskOf(f.api, snap);
    const uuid = String(await f.api.call('VDI.get_uuid', disk));
    const lun = await lunOfVdi(f, uuid);
    assert.deepEqual(lun?.space.guarantee, { requested: false, reserved: false });
    const sm = (await f.api.call('VDI.get_sm_config', disk)) as Record<string, string>;
    assert.equal(sm.allocation, 'thin');
    assert.match(sm.SVID ?? '', /^NETAPP__LUN__[0-9A-F]{8}__[0-9A-F]{24}$/);
  });

  it('hotfix item (9): revert to a snapshot leaves the VM\'s disk and every snapshot thin', async () => {
    const snaps = (await f.api.call('VM.get_snapshots', vm)) as string[];
    await f.api.callAsync('VM.revert', snaps[3]!);
    const disk = await diskOf(f.api, vm);
    const disks = [disk, ...(await Promise.all(snaps.map((s) => diskOf(f.api, s))))];
    for (const d of disks) {
      const lun = await lunOfVdi(f, String(await f.api.call('VDI.get_uuid', d)));
      assert.deepEqual(lun?.space.guarantee, { requested: false, reserved: false }, `LUN of ${d}`);
    }
    assert.ok(await nbdVerify(f.api, disk, 0, 64 * MiB, 0x11), 'the reverted disk holds the snapshot\'s data');
  });

  it('hotfix item (4): a chain of 5 snapshots, the 3rd deleted: the other 4 keep their exact content and their LUNs', async () => {
    // The five 8 MiB writes fill the disk: more would only be zeroes hashed nine times.
    const { vm: v, vdi } = await vmWithDisk(f.api, sr, 'chain-vm', 40 * MiB);
    const snaps: { ref: string; sha: string; vdiUuid: string }[] = [];
    for (let i = 0; i < 5; i++) {
      await nbdWrite(f.api, vdi, i * 8 * MiB, 8 * MiB, 0x30 + i);
      const s = String(await f.api.callAsync('VM.snapshot', v, `chain${i}`, []));
      const d = await diskOf(f.api, s);
      snaps.push({ ref: s, sha: await nbdSha256(f.api, d), vdiUuid: String(await f.api.call('VDI.get_uuid', d)) });
    }
    const third = snaps[2]!;
    await f.xeOk('snapshot-uninstall', `snapshot-uuid=${String(await f.api.call('VM.get_uuid', third.ref))}`, '--force');
    assert.equal(await lunOfVdi(f, third.vdiUuid), undefined);
    for (const s of snaps.filter((x) => x !== third)) {
      assert.ok(await lunOfVdi(f, s.vdiUuid), `LUN of ${s.vdiUuid} is still on the array`);
      const d = await diskOf(f.api, s.ref);
      assert.equal(await nbdSha256(f.api, d), s.sha);
    }
  });

  it('a second SR.create on the same FlexVol is refused; nothing changes on the array', async () => {
    const volume = (await volumeOfSr(f, srUuid)).name as string;
    const before = await arrayVolumeNames(f);
    const r = await f.xe('sr-create', 'type=netapp', 'shared=true', 'name-label=again', ...f.dc({ volume }));
    assert.notEqual(r.code, 0);
    assert.match(r.out + r.err, /SR_BACKEND_FAILURE_42/);
    assert.match(r.out + r.err, new RegExp(`already holds SR ${srUuid}`));
    assert.deepEqual(await arrayVolumeNames(f), before);
  });

  it('bad credentials, an unknown aggregate or an unreachable array fail clearly and leave nothing half made', async () => {
    const before = await arrayVolumeNames(f);
    const srsBefore = ((await f.api.call('SR.get_all')) as string[]).length;
    const bad = await f.xe('sr-create', 'type=netapp', 'shared=true', 'name-label=x', ...f.dc({ password: 'wrong' }));
    assert.notEqual(bad.code, 0);
    assert.match(bad.out + bad.err, /SR_BACKEND_FAILURE_47[\s\S]*refused the credentials/);
    assert.doesNotMatch(bad.out + bad.err, /wrong/, 'the password is not echoed');
    const aggr = await f.xe('sr-create', 'type=netapp', 'shared=true', 'name-label=x', ...f.dc({ storagePoolId: 'aggr_missing' }));
    assert.notEqual(aggr.code, 0);
    assert.match(aggr.out + aggr.err, /no aggregate \(storagePoolId\) aggr_missing; it has aggr1/);
    const down = await f.xe('sr-create', 'type=netapp', 'shared=true', 'name-label=x', ...f.dc({ port: String(await closedPort()) }));
    assert.notEqual(down.code, 0);
    assert.match(down.out + down.err, /SR_BACKEND_FAILURE_47[\s\S]*cannot reach the array/);
    assert.deepEqual(await arrayVolumeNames(f), before);
    assert.equal(((await f.api.call('SR.get_all')) as string[]).length, srsBefore);
  });
});
