/**
 * Hotfix item 9: reverting a VM to a snapshot keeps its disks thin and keeps the snapshot.
 * A VM's thin disk gets data, a snapshot, more data, then `xe snapshot-revert`: the VM's
 * disk has the snapshot's content, costs only metadata of its own, is still thin, the
 * snapshot is still listed (and is the VM's parent), and once the garbage collector has
 * run the data written after the snapshot no longer takes space. Reverting twice in a row
 * adds nothing either. Needs a built tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  GiB, MiB, type StorageFixture, collect, diskOf, exportDigest, importImage, pattern, startStorageFixture, summedPhysical, vmWithDisk,
} from './storage-fixture.js';

const SLACK = 1 * MiB;

describe('revert stays thin (hotfix item 9)', () => {
  let f: StorageFixture;
  let vm: string;
  let snapUuid: string;
  let snapDigest: string;

  before(async () => {
    f = await startStorageFixture();
    const made = await vmWithDisk(f.api, f.sr, 'revert-vm', 1 * GiB);
    vm = made.vm;
    const image = Buffer.alloc(8 * MiB);
    pattern(7, 4 * MiB).copy(image, 0);
    await importImage(f.api, made.vdi, image);
    snapUuid = await f.xeOk('vm-snapshot', `uuid=${String(await f.api.call('VM.get_uuid', vm))}`, 'new-name-label=before-change');
    snapDigest = (await exportDigest(f.api, made.vdi)).sha;
    // 4 MiB more after the snapshot: then the revert must throw these away.
    pattern(8, 4 * MiB).copy(image, 4 * MiB);
    await importImage(f.api, made.vdi, image);
    assert.notEqual((await exportDigest(f.api, made.vdi)).sha, snapDigest);
  });
  after(async () => f?.close());

  it('snapshot-revert gives the VM the snapshot content and keeps the snapshot', async () => {
    await f.xeOk('snapshot-revert', `snapshot-uuid=${snapUuid}`);
    const disk = await diskOf(f.api, vm);
    assert.equal((await exportDigest(f.api, disk)).sha, snapDigest);
    const listed = await f.xeOk('snapshot-list', 'params=uuid', '--minimal');
    assert.ok(listed.split(',').includes(snapUuid), 'the snapshot is still there');
    const snapRef = String(await f.api.call('VM.get_by_uuid', snapUuid));
    assert.equal(await f.api.call('VM.get_parent', vm), snapRef);
    assert.deepEqual(await f.api.call('VM.get_snapshots', vm), [snapRef]);
  });

  it('the reverted disk is thin and holds no data of its own', async () => {
    const disk = await diskOf(f.api, vm);
    const rec = await f.api.call('VDI.get_record', disk) as Record<string, any>;
    assert.equal(rec.sm_config.allocation, 'thin');
    assert.ok(rec.physical_utilisation < SLACK, `the reverted disk uses ${rec.physical_utilisation}`);
    // The snapshot's disk now counts as a snapshot of the VM's new disk.
    const snapRef = String(await f.api.call('VM.get_by_uuid', snapUuid));
    const snapVbd = (await f.api.call('VM.get_VBDs', snapRef) as string[])[0]!;
    const snapVdi = String(await f.api.call('VBD.get_VDI', snapVbd));
    assert.equal(await f.api.call('VDI.get_snapshot_of', snapVdi), disk);
  });

  it('after collection the discarded data takes no space', async () => {
    await collect(f.api, f.sr);
    const used = await summedPhysical(f.api, f.sr);
    assert.ok(used >= 4 * MiB && used < 4 * MiB + SLACK, `the SR's disks use ${used}`);
  });

  it('reverting again adds nothing', async () => {
    const before = await summedPhysical(f.api, f.sr);
    await f.xeOk('snapshot-revert', `snapshot-uuid=${snapUuid}`);
    await collect(f.api, f.sr);
    const after = await summedPhysical(f.api, f.sr);
    assert.ok(after - before < SLACK, `the second revert cost ${after - before}`);
    assert.equal((await exportDigest(f.api, await diskOf(f.api, vm))).sha, snapDigest);
  });
});
