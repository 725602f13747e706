/**
 * The VM operations that work on disks, through xe and the XenAPI against a real server:
 * vm-install from the built-in template (provisioned thin disk owned by the VM), snapshot
 * records and the parent/children tree, ignore_vdis, clone and copy (to another SR), the
 * difference between vm-destroy (disks kept) and vm-uninstall (owned disks destroyed),
 * vbd-create's checks and xapi's refusals. Needs a built tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  GiB, MiB, type StorageFixture, diskOf, exportDigest, importImage, pattern, sha256, startStorageFixture, vmWithDisk,
} from '../acceptance/storage-fixture.js';

type Rec = Record<string, any>;
const NULL = 'OpaqueRef:NULL';

describe('VM disk operations', () => {
  let f: StorageFixture;
  let work: string;

  before(async () => {
    f = await startStorageFixture();
    work = await mkdtemp(join(tmpdir(), 'vm-disks-'));
  });
  after(async () => {
    await f?.close();
    await rm(work, { recursive: true, force: true });
  });

  const vmRec = async (ref: string) => f.api.call('VM.get_record', ref) as Promise<Rec>;

  it('vm-install makes a halted VM with a thin 32 GiB disk it owns on the default SR', async () => {
    const uuid = await f.xeOk('vm-install', 'template=Other install media', 'new-name-label=installed');
    const vm = String(await f.api.call('VM.get_by_uuid', uuid));
    const r = await vmRec(vm);
    assert.equal(r.is_a_template, false);
    assert.equal(r.power_state, 'Halted');
    assert.equal(r.name_description, 'Installed via xe CLI');
    assert.equal(r.other_config.disks, undefined);
    assert.equal(r.other_config.base_template_name, 'Other install media');
    const vbd = await f.api.call('VBD.get_record', r.VBDs[0]) as Rec;
    assert.equal(vbd.userdevice, '0');
    assert.equal(vbd.bootable, true);
    assert.equal(vbd.other_config.owner, '');
    const vdi = await f.api.call('VDI.get_record', vbd.VDI) as Rec;
    assert.equal(vdi.SR, f.sr);
    assert.equal(vdi.virtual_size, 32 * GiB);
    assert.equal(vdi.sm_config.allocation, 'thin');
    assert.ok(vdi.physical_utilisation < 1 * MiB);
    const r2 = await f.xe('vm-install', 'template=no such template', 'new-name-label=x');
    assert.equal(r2.code, 1);
    assert.match(r2.err, /No templates matched/);
  });

  it('snapshots carry xapi\'s fields and form the parent/children tree', async () => {
    const { vm } = await vmWithDisk(f.api, f.sr, 'tree-vm', 64 * MiB);
    const s1 = String(await f.api.callAsync('VM.snapshot', vm, 's1', []));
    const s2 = String(await f.api.callAsync('VM.snapshot', vm, 's2', []));
    const r1 = await vmRec(s1);
    assert.equal(r1.is_a_snapshot, true);
    assert.equal(r1.is_a_template, true);
    assert.equal(r1.snapshot_of, vm);
    assert.notEqual(r1.snapshot_time, '19700101T00:00:00Z');
    assert.equal(r1.snapshot_info['disk-snapshot-type'], 'crash_consistent');
    assert.equal(r1.parent, NULL);
    assert.equal((await vmRec(s2)).parent, s1);
    assert.equal((await vmRec(vm)).parent, s2);
    assert.deepEqual((await vmRec(s1)).children, [s2]);
    assert.deepEqual(new Set((await vmRec(vm)).snapshots), new Set([s1, s2]));
    const sv = await f.api.call('VDI.get_record', await diskOf(f.api, s1)) as Rec;
    assert.equal(sv.is_a_snapshot, true);
    assert.equal(sv.snapshot_of, await diskOf(f.api, vm));
    // Reverting to s1 makes it the VM's parent; a new snapshot then branches from it.
    await f.api.callAsync('VM.revert', s1);
    assert.equal((await vmRec(vm)).parent, s1);
    const s3 = String(await f.api.callAsync('VM.snapshot', vm, 's3', []));
    assert.equal((await vmRec(s3)).parent, s1);
    assert.deepEqual(new Set((await vmRec(s1)).children), new Set([s2, s3]));
    // Destroying s1 hands its children to its parent.
    await f.xeOk('snapshot-destroy', `snapshot-uuid=${r1.uuid}`);
    assert.equal((await vmRec(s2)).parent, NULL);
    assert.equal((await vmRec(s3)).parent, NULL);
    await assert.rejects(f.api.callAsync('VM.revert', vm), /REVERT_ONLY_ALLOWED_ON_SNAPSHOT/);
  });

  it('ignore_vdis leaves a disk out of the snapshot', async () => {
    const { vm, vdi } = await vmWithDisk(f.api, f.sr, 'ignore-vm', 16 * MiB);
    const s = String(await f.api.callAsync('VM.snapshot', vm, 'without', [vdi]));
    // Only the installed VM's empty CD drive is copied, as xapi copies it.
    const drives = await Promise.all(((await vmRec(s)).VBDs as string[]).map((v) => f.api.call('VBD.get_record', v) as Promise<Rec>));
    assert.deepEqual(drives.map((d) => [d.type, d.empty]), [['CD', true]]);
  });

  it('clone shares the content; copy puts full thin copies on another SR', async () => {
    const { vm, vdi } = await vmWithDisk(f.api, f.sr, 'copy-me', 64 * MiB);
    const data = pattern(41, 3 * MiB);
    await importImage(f.api, vdi, data);
    const want = sha256(Buffer.concat([data, Buffer.alloc(61 * MiB)]));
    const vmUuid = String(await f.api.call('VM.get_uuid', vm));
    const cloneUuid = await f.xeOk('vm-clone', `uuid=${vmUuid}`, 'new-name-label=the clone', 'new-name-description=cloned');
    const clone = await vmRec(String(await f.api.call('VM.get_by_uuid', cloneUuid)));
    assert.equal(clone.name_description, 'cloned');
    assert.equal(clone.parent, NULL);
    assert.equal(clone.is_a_snapshot, false);
    assert.notEqual(clone.other_config.mac_seed, undefined);
    const cloneDisk = await diskOf(f.api, String(await f.api.call('VM.get_by_uuid', cloneUuid)));
    assert.equal((await exportDigest(f.api, cloneDisk)).sha, want);
    const otherUuid = await f.xeOk('sr-create', 'name-label=copies', 'type=file', `device-config:path=${join(work, 'copies')}`);
    const copyUuid = await f.xeOk('vm-copy', `uuid=${vmUuid}`, 'new-name-label=the copy', `sr-uuid=${otherUuid}`);
    const copyDisk = await diskOf(f.api, String(await f.api.call('VM.get_by_uuid', copyUuid)));
    const cd = await f.api.call('VDI.get_record', copyDisk) as Rec;
    assert.equal(cd.SR, await f.api.call('SR.get_by_uuid', otherUuid));
    assert.ok(cd.physical_utilisation >= 3 * MiB && cd.physical_utilisation < 4 * MiB);
    assert.equal((await exportDigest(f.api, copyDisk)).sha, want);
  });

  it('vm-destroy keeps the disks; vm-uninstall destroys the ones the VM owns', async () => {
    const a = await vmWithDisk(f.api, f.sr, 'destroy-me', 16 * MiB);
    await f.xeOk('vm-destroy', `uuid=${String(await f.api.call('VM.get_uuid', a.vm))}`);
    await assert.rejects(vmRec(a.vm), /HANDLE_INVALID/);
    assert.equal(await f.api.call('VDI.get_VBDs', a.vdi).then((v) => (v as string[]).length), 0);
    const b = await vmWithDisk(f.api, f.sr, 'uninstall-me', 16 * MiB);
    const snap = String(await f.api.callAsync('VM.snapshot', b.vm, 'its snapshot', []));
    const snapDisk = await diskOf(f.api, snap);
    const out = await f.xeOk('vm-uninstall', `uuid=${String(await f.api.call('VM.get_uuid', b.vm))}`, '--force');
    assert.match(out, /The following items are about to be destroyed/);
    assert.match(out, /All objects destroyed/);
    await assert.rejects(f.api.call('VDI.get_record', b.vdi), /HANDLE_INVALID/);
    await assert.rejects(f.api.call('VDI.get_record', snapDisk), /HANDLE_INVALID/);
    await assert.rejects(vmRec(snap), /HANDLE_INVALID/);
    const [tpl] = await f.api.call('VM.get_by_name_label', 'Other install media') as string[];
    await assert.rejects(f.api.call('VM.destroy', tpl), /VM_CANNOT_DELETE_DEFAULT_TEMPLATE/);
  });

  it('vbd-create checks what xapi checks', async () => {
    const { vm, vdi } = await vmWithDisk(f.api, f.sr, 'drives', 16 * MiB);
    const vmUuid = String(await f.api.call('VM.get_uuid', vm));
    const vdiUuid = String(await f.api.call('VDI.get_uuid', vdi));
    let r = await f.xe('vbd-create', `vm-uuid=${vmUuid}`, `vdi-uuid=${vdiUuid}`, 'device=0');
    assert.equal(r.code, 1, 'slot 0 is taken');
    const extra = await f.xeOk('vdi-create', `sr-uuid=${String(await f.api.call('SR.get_uuid', f.sr))}`, 'name-label=extra', 'virtual-size=8MiB');
    const vbd = await f.xeOk('vbd-create', `vm-uuid=${vmUuid}`, `vdi-uuid=${extra}`, 'device=1', 'mode=RO');
    const rec = await f.api.call('VBD.get_record', String(await f.api.call('VBD.get_by_uuid', vbd))) as Rec;
    assert.equal(rec.mode, 'RO');
    assert.equal(rec.userdevice, '1');
    r = await f.xe('vbd-create', `vm-uuid=${vmUuid}`, 'device=2');
    assert.equal(r.code, 1);
    assert.match(r.err, /Empty VBDs can only be made for type=CD/);
    // Device 3 holds the empty CD drive vm-install gave the VM.
    const dup = await f.xe('vbd-create', `vm-uuid=${vmUuid}`, 'device=3', 'type=CD', 'mode=RO');
    assert.notEqual(dup.code, 0);
    const cd = await f.xeOk('vbd-create', `vm-uuid=${vmUuid}`, 'device=5', 'type=CD', 'mode=RO');
    assert.equal(await f.xeOk('vbd-param-get', `uuid=${cd}`, 'param-name=empty'), 'true');
    await assert.rejects(f.api.call('VBD.plug', String(await f.api.call('VBD.get_by_uuid', vbd))), /VM_BAD_POWER_STATE/);
  });
});
