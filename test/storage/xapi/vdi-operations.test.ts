/**
 * VDI operations through xe and the XenAPI against a real server: thick and thin creation,
 * an import that leaves the other disks' records alone, resize, clone, copy to another SR (thin: data only) and into an existing disk, the rules
 * for base copies, forget/scan/introduce, VHD import checked against qemu-img, and a sparse
 * raw export with `xe vdi-export`. Needs a built tree (`npm run build`) and qemu-utils.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, rm, stat, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  MiB, type StorageFixture, exportDigest, importImage, pattern, sha256, startStorageFixture, vdiRecords,
} from '../acceptance/storage-fixture.js';

type Rec = Record<string, any>;
const padded = (data: Buffer, size: number) => Buffer.concat([data, Buffer.alloc(size - data.length)]);

describe('VDI operations', () => {
  let f: StorageFixture;
  let work: string;
  let srUuid: string;
  let other: string;
  let otherUuid: string;

  before(async () => {
    f = await startStorageFixture();
    work = await mkdtemp(join(tmpdir(), 'vdi-ops-'));
    srUuid = String(await f.api.call('SR.get_uuid', f.sr));
    otherUuid = await f.xeOk('sr-create', 'name-label=other', 'type=file', `device-config:path=${join(work, 'other')}`);
    other = String(await f.api.call('SR.get_by_uuid', otherUuid));
  });
  after(async () => {
    await f?.close();
    await rm(work, { recursive: true, force: true });
  });

  const ref = async (uuid: string) => String(await f.api.call('VDI.get_by_uuid', uuid));
  const rec = async (uuid: string) => f.api.call('VDI.get_record', await ref(uuid)) as Promise<Rec>;

  it('thick disks take their size, thin ones nothing; a bad allocation is refused', async () => {
    const thick = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=thick', 'virtual-size=8MiB', 'sm-config:allocation=thick');
    const thin = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=thin', 'virtual-size=8MiB');
    assert.equal((await rec(thick)).sm_config.allocation, 'thick');
    assert.ok((await rec(thick)).physical_utilisation >= 8 * MiB);
    assert.ok((await rec(thin)).physical_utilisation < 64 * 1024);
    const r = await f.xe('vdi-create', `sr-uuid=${srUuid}`, 'name-label=bad', 'virtual-size=8MiB', 'sm-config:allocation=fat');
    assert.equal(r.code, 1);
    assert.match(r.err, /INVALID_VALUE|allocation/);
  });

  it('an import writes the record of its disk only, not those of the other disks of the SR', async () => {
    const a = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=written', 'virtual-size=8MiB');
    const b = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=left alone', 'virtual-size=8MiB');
    const [refA, refB] = [await ref(a), await ref(b)];
    const { token } = (await f.api.call('event.from', ['vdi'], '', 0)) as { token: string };
    await importImage(f.api, refA, pattern(41, 1 * MiB));
    // The import refreshes its own disk's record and the SR's figures, and no other record.
    const { events } = (await f.api.call('event.from', ['vdi'], token, 0)) as { events: Array<{ ref: string; operation: string }> };
    const changed = new Set(events.map((e) => e.ref));
    assert.ok(changed.has(refA), 'the imported disk has an event');
    assert.ok(!changed.has(refB), 'the other disk of the SR has no event');
    assert.equal(events.filter((e) => e.ref !== refA).length, 0, `events of other disks: ${JSON.stringify(events.filter((e) => e.ref !== refA))}`);
  });

  it('resize grows a disk and refuses to shrink it', async () => {
    const uuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=grow', 'virtual-size=8MiB');
    await f.xeOk('vdi-resize', `uuid=${uuid}`, 'disk-size=24MiB');
    assert.equal((await rec(uuid)).virtual_size, 24 * MiB);
    const r = await f.xe('vdi-resize', `uuid=${uuid}`, 'disk-size=4MiB');
    assert.equal(r.code, 1);
  });

  it('clone is writable, named and equal; base copies cannot be destroyed', async () => {
    const uuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=origin', 'virtual-size=16MiB');
    const data = pattern(21, 2 * MiB);
    await importImage(f.api, await ref(uuid), data);
    const clone = await f.xeOk('vdi-clone', `uuid=${uuid}`, 'new-name-label=the clone');
    const c = await rec(clone);
    assert.equal(c.name_label, 'the clone');
    assert.equal(c.read_only, false);
    assert.equal(c.is_a_snapshot, false);
    assert.equal((await exportDigest(f.api, await ref(clone))).sha, sha256(padded(data, 16 * MiB)));
    const base = (await vdiRecords(f.api, f.sr)).find((r) => !r.managed)!;
    assert.equal(base.name_label, 'base copy');
    await assert.rejects(f.api.call('VDI.destroy', String(await f.api.call('VDI.get_by_uuid', base.uuid))), /VDI_NOT_MANAGED/);
  });

  it('copy to another SR moves the data only; copy into a disk with a base writes the difference', async () => {
    const uuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=src', 'virtual-size=64MiB');
    const image = Buffer.alloc(40 * MiB);
    pattern(31, 3 * MiB).copy(image, 0);
    pattern(32, 1 * MiB).copy(image, 37 * MiB);
    await importImage(f.api, await ref(uuid), image);
    const copy = await f.xeOk('vdi-copy', `uuid=${uuid}`, `sr-uuid=${otherUuid}`);
    const c = await rec(copy);
    assert.equal(c.SR, other);
    assert.equal(c.name_label, 'src');
    assert.ok(c.physical_utilisation >= 4 * MiB && c.physical_utilisation < 5 * MiB, `the copy uses ${c.physical_utilisation}`);
    assert.equal((await exportDigest(f.api, await ref(copy))).sha, sha256(padded(image, 64 * MiB)));
    // Change the source, then bring the copy up to date against the old content.
    const base = await f.xeOk('vdi-snapshot', `uuid=${uuid}`);
    pattern(33, 1 * MiB).copy(image, 10 * MiB);
    await importImage(f.api, await ref(uuid), image);
    const before = (await rec(copy)).physical_utilisation;
    assert.equal(await f.xeOk('vdi-copy', `uuid=${uuid}`, `into-vdi-uuid=${copy}`, `base-vdi-uuid=${base}`), copy);
    assert.equal((await exportDigest(f.api, await ref(copy))).sha, sha256(padded(image, 64 * MiB)));
    assert.ok((await rec(copy)).physical_utilisation - before < 1.5 * MiB, 'only the changed MiB was written');
    const r = await f.xe('vdi-copy', `uuid=${uuid}`);
    assert.equal(r.code, 1, 'one of sr-uuid and into-vdi-uuid is needed');
  });

  it('forget drops the record, scan brings it back, introduce records it by hand', async () => {
    const uuid = await f.xeOk('vdi-create', `sr-uuid=${otherUuid}`, 'name-label=lost', 'virtual-size=8MiB');
    await f.xeOk('vdi-forget', `uuid=${uuid}`);
    await assert.rejects(ref(uuid), /UUID_INVALID/);
    await f.xeOk('sr-scan', `uuid=${otherUuid}`);
    assert.equal((await rec(uuid)).virtual_size, 8 * MiB);
    await f.xeOk('vdi-forget', `uuid=${uuid}`);
    const made = await f.api.call('VDI.introduce', uuid, 'found', '', other, 'user', false, false, {}, uuid, {}, {}) as string;
    const r = await f.api.call('VDI.get_record', made) as Rec;
    assert.equal(r.name_label, 'found');
    assert.equal(r.virtual_size, 8 * MiB);
  });

  it('imports a VHD made by qemu-img and exports a sparse raw file with xe', async () => {
    const vhd = join(work, 'in.vhd');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'subformat=dynamic,force_size=on', vhd, '32M']);
    execFileSync('qemu-io', ['-f', 'vpc', '-c', 'write -P 0xa5 1M 3M', '-c', 'write -P 0x5a 20M 512k', vhd], { stdio: 'ignore' });
    const raw = join(work, 'in.raw');
    execFileSync('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', vhd, raw]);
    const uuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=from-vhd', 'virtual-size=32MiB');
    await f.xeOk('vdi-import', `uuid=${uuid}`, `filename=${vhd}`, 'format=vhd');
    const want = await readFile(raw);
    assert.equal((await exportDigest(f.api, await ref(uuid))).sha, sha256(want));
    assert.ok((await rec(uuid)).physical_utilisation < 4 * MiB, 'only the written blocks are stored');
    const out = join(work, 'out.raw');
    await f.xeOk('vdi-export', `uuid=${uuid}`, `filename=${out}`);
    assert.equal(sha256(await readFile(out)), sha256(want));
    const st = await stat(out);
    assert.equal(st.size, 32 * MiB);
    assert.ok(st.blocks * 512 < 8 * MiB, 'the exported file is sparse');
    const outVhd = join(work, 'out.vhd');
    await f.xeOk('vdi-export', `uuid=${uuid}`, `filename=${outVhd}`, 'format=vhd');
    assert.match(execFileSync('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', outVhd, raw], { encoding: 'utf8' }), /Images are identical/);
  });
});
