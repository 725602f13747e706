/**
 * Hotfix item 8: a snapshot of a thin disk stays thin. A VM's 256 MiB thin disk holding 4 MiB
 * of data is snapshotted (through xe and the API) and every record, the SR's figures and
 * the files on disk still account for the data once, plus metadata; further snapshots of
 * the unchanged disk cost only metadata. The snapshot exported as a VHD is checked by
 * qemu-img against the data written, and the SR's differencing chain read by libvhdi
 * (pyvhdi) has the same content as the raw export. Needs a built tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import {
  MiB, type StorageFixture, chainDigest, exportDigest, importImage, pattern, sha256, startStorageFixture, summedPhysical, vdiRecords, vmWithDisk,
} from './storage-fixture.js';

const SLACK = 1 * MiB;
// Large enough that a thick disk or a full export could not pass for a thin one (64 times
// the data); every byte of it is imported, exported and compared, so no larger.
const DISK = 256 * MiB;

describe('thin snapshot stays thin (hotfix item 8)', () => {
  let f: StorageFixture;
  let work: string;
  let vm: string;
  let vdi: string;
  let image: Buffer;

  before(async () => {
    f = await startStorageFixture();
    work = await mkdtemp(join(tmpdir(), 'thin-snap-'));
    ({ vm, vdi } = await vmWithDisk(f.api, f.sr, 'thin-snap-vm', DISK));
    // 4 MiB of data: 3 MiB at the start, 1 MiB far into the disk.
    image = Buffer.alloc(129 * MiB);
    pattern(1, 3 * MiB).copy(image, 0);
    pattern(2, 1 * MiB).copy(image, 128 * MiB);
    await importImage(f.api, vdi, image);
  });
  after(async () => {
    await f?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('the new disk is thin and holds the data once', async () => {
    const rec = await f.api.call('VDI.get_record', vdi) as Record<string, any>;
    assert.equal(rec.sm_config.allocation, 'thin');
    assert.ok(rec.physical_utilisation >= 4 * MiB && rec.physical_utilisation < 4 * MiB + SLACK, `disk uses ${rec.physical_utilisation}`);
  });

  it('vm-snapshot adds metadata only', async () => {
    const before = await summedPhysical(f.api, f.sr);
    const vmUuid = String(await f.api.call('VM.get_uuid', vm));
    const snapUuid = await f.xeOk('vm-snapshot', `uuid=${vmUuid}`, 'new-name-label=thin-snap-1');
    assert.match(snapUuid, /^[0-9a-f-]{36}$/);
    const after = await summedPhysical(f.api, f.sr);
    assert.ok(after - before < SLACK, `the snapshot cost ${after - before} bytes`);
    assert.ok(after >= 4 * MiB && after < 4 * MiB + SLACK, `SR disks use ${after}`);
    const leaf = await f.api.call('VDI.get_record', vdi) as Record<string, any>;
    assert.ok(leaf.physical_utilisation < SLACK, `the VM's disk still holds ${leaf.physical_utilisation} bytes of its own`);
    assert.equal(leaf.sm_config.allocation, 'thin');
    const sr = await f.api.call('SR.get_record', f.sr) as Record<string, any>;
    assert.ok(sr.physical_utilisation < 4 * MiB + 2 * SLACK, `SR reports ${sr.physical_utilisation} used`);
    const visible = (await vdiRecords(f.api, f.sr)).filter((r) => r.managed);
    assert.equal(sr.virtual_allocation, visible.reduce((s, r) => s + Number(r.virtual_size), 0));
  });

  it('snapshots of the unchanged disk cost metadata only', async () => {
    const before = await summedPhysical(f.api, f.sr);
    for (let i = 0; i < 3; i++) await f.api.callAsync('VM.snapshot', vm, `thin-snap-extra-${i}`, []);
    const after = await summedPhysical(f.api, f.sr);
    assert.ok(after - before < SLACK, `three more snapshots cost ${after - before} bytes`);
  });

  it('the snapshot exports as a VHD qemu-img finds identical to the data', async () => {
    const snaps = (await vdiRecords(f.api, f.sr)).filter((r) => r.is_a_snapshot);
    assert.ok(snaps.length >= 1);
    const snap = String(await f.api.call('VDI.get_by_uuid', snaps[0]!.uuid));
    const vhd = join(work, 'snap.vhd');
    await pipeline(await f.api.getFile('/export_raw_vdi', { vdi: snap, format: 'vhd' }), createWriteStream(vhd));
    const raw = join(work, 'data.raw');
    await writeFile(raw, Buffer.concat([image, Buffer.alloc(DISK - image.length)]));
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '-f', 'vpc', vhd], { encoding: 'utf8' }));
    assert.equal(info['virtual-size'], DISK);
    assert.ok((await stat(vhd)).size < 8 * MiB, 'the VHD holds only allocated blocks');
    const out = execFileSync('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', vhd, raw], { encoding: 'utf8' });
    assert.match(out, /Images are identical/);
    const { sha } = await exportDigest(f.api, snap);
    assert.equal(sha, sha256(Buffer.concat([image, Buffer.alloc(DISK - image.length)])));
  });

  it('libvhdi reads the SR chain of the VM disk with the raw export content', async () => {
    const { sha, depth } = await chainDigest(f, vdi);
    assert.ok(depth >= 2, 'the VM disk is a differencing child of a base copy');
    assert.equal(sha, (await exportDigest(f.api, vdi)).sha);
  });
});
