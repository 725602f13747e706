/**
 * xe's disk, snapshot, media, vCPU, message, HA and plugin commands against a real one-host
 * Islet with its hypervisor simulator, each read back through XenAPI: vm-disk-add (default
 * SR or sr-uuid=, owned by the VM, hot-plugged into a running one, a taken device refused
 * with nothing left behind) and vm-disk-remove; snapshot-clone, -copy, -disk-list and
 * -reset-powerstate; vbd-eject and vbd-insert of an ISO library's CD; vm-vcpu-hotplug;
 * message-create, message-list (every field by default, as xe) and message-destroy;
 * pool-ha-enable/-disable and host-call-plugin with the server's refusals in xe's words;
 * secret-create/-destroy, subject-role-add/-remove and subject-remove; vdi-update and
 * vdi-introduce of a forgotten disk; template-export and snapshot-export-to-template
 * (imported back as a template); the memory overheads and the VMs that prevent evacuation.
 * Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { completeRecord } from '../../src/client/create-record.js';
import { type XeServer, startXeServer } from '../helpers/xe.js';

const PW = 'xe-disks-pw';
const MiB = 1024 * 1024;

describe('xe disk, snapshot and administration commands', () => {
  let s: XeServer;
  let vm: string;
  let vmUuid: string;
  let hostUuid: string;
  let defaultSr: string;

  const call = (method: string, ...args: unknown[]) => s.api.call(method, ...args);
  const str = async (method: string, ...args: unknown[]) => String(await call(method, ...args));
  /** The VDIs named "Created by xe" (vm-disk-add's name for a new disk). */
  const createdByXe = async () => ((await call('VDI.get_by_name_label', 'Created by xe')) as string[]).length;
  const failure = async (...args: string[]) => {
    const r = await s.xe(...args);
    assert.notEqual(r.code, 0, `xe ${args.join(' ')} should fail; it printed ${r.out}`);
    return r.err;
  };

  before(async () => {
    s = await startXeServer({ password: PW, env: { ISLET_HYPERVISOR_MEMORY: '2G' } });
    vm = String(await call('VM.create', completeRecord('VM', {
      name_label: 'disk-vm', memory_static_max: 256 * MiB, memory_dynamic_max: 256 * MiB, memory_dynamic_min: 256 * MiB,
      memory_static_min: 256 * MiB, VCPUs_max: 4, VCPUs_at_startup: 1,
    })));
    vmUuid = await str('VM.get_uuid', vm);
    const [host] = (await call('host.get_all')) as string[];
    hostUuid = await str('host.get_uuid', host);
    const [pool] = (await call('pool.get_all')) as string[];
    defaultSr = await str('pool.get_default_SR', pool);
  });
  after(async () => {
    await s?.stop();
  });

  it('vm-disk-add makes a disk the VM owns on the default SR; vm-disk-remove takes drive and disk away', async () => {
    assert.equal(await s.xe.ok('vm-disk-add', 'vm=disk-vm', 'disk-size=64MiB', 'device=1'), '');
    const [vbd] = await vbdsAt(vm, '1');
    assert.ok(vbd, 'a drive at device 1');
    const vdi = await str('VBD.get_VDI', vbd);
    const rec = (await call('VDI.get_record', vdi)) as Record<string, unknown>;
    assert.equal(rec.name_label, 'Created by xe');
    assert.equal(Number(rec.virtual_size), 64 * MiB);
    assert.equal(rec.SR, defaultSr);
    assert.equal((rec.sm_config as Record<string, string>).vmhint, vmUuid);
    assert.deepEqual(await call('VBD.get_other_config', vbd), { owner: '' });
    assert.equal(await call('VBD.get_type', vbd), 'Disk');
    assert.equal(await call('VBD.get_mode', vbd), 'RW');

    // The disk shows in vm-disk-list with xe's headings.
    const listed = await s.xe.ok('vm-disk-list', 'vm=disk-vm', 'vdi-params=name-label,virtual-size');
    assert.match(listed, /Disk 0 VBD:\n[^]*userdevice \( RW\): 1\n[^]*Disk 0 VDI:\nname-label \( RW\)\s*: Created by xe\n\s*virtual-size \( RO\): 67108864$/);

    await s.xe.ok('vm-disk-remove', 'vm=disk-vm', 'device=1');
    assert.deepEqual(await vbdsAt(vm, '1'), []);
    await assert.rejects(call('VDI.get_record', vdi), /HANDLE_INVALID/);
    assert.match(await failure('vm-disk-remove', 'vm=disk-vm', 'device=1'), /Disk not found/);
  });

  it('vm-disk-add refuses a taken device and a bad size, and leaves no disk behind', async () => {
    await s.xe.ok('vm-disk-add', `uuid=${vmUuid}`, 'disk-size=8MiB', 'device=2');
    assert.equal(await createdByXe(), 1);
    const taken = await failure('vm-disk-add', `uuid=${vmUuid}`, 'disk-size=8MiB', 'device=2');
    assert.match(taken, /A device with the name given already exists on the selected VM\ndevice: 2/);
    assert.equal(await createdByXe(), 1, 'the VDI made for the refused drive is destroyed');
    assert.match(await failure('vm-disk-add', `uuid=${vmUuid}`, 'disk-size=lots', 'device=3'),
      /Failed to parse field 'disk-size': expecting an integer \(possibly with suffix KiB, MiB, GiB, TiB\), got 'lots'/);
    assert.match(await failure('vm-disk-add', 'vm=no-such-vm', 'disk-size=8MiB', 'device=3'), /No matching VMs found/);
    assert.equal(await createdByXe(), 1);
    await s.xe.ok('vm-disk-remove', `uuid=${vmUuid}`, 'device=2');
    assert.equal(await createdByXe(), 0);
  });

  it('vm-disk-add puts the disk on sr-uuid= when given, and plugs it into a running VM', async () => {
    const srUuid = await s.xe.ok('sr-create', `host-uuid=${hostUuid}`, 'name-label=second', 'type=file',
      `device-config:location=${join(s.home, 'second-sr')}`);
    await s.xe.ok('vm-start', 'vm=disk-vm');
    await s.xe.ok('vm-disk-add', 'vm=disk-vm', 'disk-size=16MiB', 'device=3', `sr-uuid=${srUuid}`);
    const [vbd] = await vbdsAt(vm, '3');
    assert.ok(vbd);
    assert.equal(await call('VBD.get_currently_attached', vbd), true, 'hot-plugged into the running VM');
    assert.equal(await str('SR.get_uuid', await str('VDI.get_SR', await str('VBD.get_VDI', vbd))), srUuid);
    // A plugged drive cannot be destroyed: the removal fails as xe's does, and loses nothing.
    assert.match(await failure('vm-disk-remove', 'vm=disk-vm', 'device=3'), /VBD is currently attached/);
    assert.equal((await vbdsAt(vm, '3')).length, 1);
    await s.xe.ok('vbd-unplug', `uuid=${await str('VBD.get_uuid', vbd)}`);
    await s.xe.ok('vm-disk-remove', 'vm=disk-vm', 'device=3');
    assert.deepEqual(await vbdsAt(vm, '3'), []);
  });

  it('vm-vcpu-hotplug changes a running VM\'s vCPUs within VCPUs-max', async () => {
    await s.xe.ok('vm-vcpu-hotplug', 'vm=disk-vm', 'new-vcpus=3');
    assert.equal(await s.xe.ok('vm-param-get', `uuid=${vmUuid}`, 'param-name=VCPUs-number'), '3');
    assert.equal(Number(await call('VM.get_VCPUs_at_startup', vm)), 3);
    assert.match(await failure('vm-vcpu-hotplug', 'vm=disk-vm', 'new-vcpus=5'), /The value given is invalid\nfield: nvcpu\nvalue: 5/);
    assert.match(await failure('vm-vcpu-hotplug', 'vm=disk-vm', 'new-vcpus=two'), /Failed to parse parameter 'new-vcpus': expecting an integer/);
    assert.equal(Number(await call('VM.get_VCPUs_at_startup', vm)), 3);
    await s.xe.ok('vm-shutdown', 'vm=disk-vm', '--force');
  });

  it('snapshot-clone and snapshot-copy make templates; snapshot-disk-list lists the snapshot\'s disks', async () => {
    await s.xe.ok('vm-disk-add', 'vm=disk-vm', 'disk-size=32MiB', 'device=0');
    const snap = await s.xe.ok('vm-snapshot', 'vm=disk-vm', 'new-name-label=before');
    // XenServer 6.0.2's snapshot-list shows three fields (its list also names two it never matches).
    const shown = (await s.xe.ok('snapshot-list', `uuid=${snap}`)).split('\n').map((l) => l.split('(')[0]!.trim());
    assert.deepEqual(shown, ['uuid', 'name-label', 'name-description']);
    const snapDisks = await s.xe.ok('snapshot-disk-list', `snapshot-uuid=${snap}`, 'vbd-params=userdevice', 'vdi-params=is-a-snapshot');
    assert.match(snapDisks, /^Disk 0 VBD:\nuserdevice \( RW\)\s*: 0\n\n\nDisk 0 VDI:\nis-a-snapshot \( RO\)\s*: true$/);

    const cloned = await s.xe.ok('snapshot-clone', `uuid=${snap}`, 'new-name-label=from-clone', 'new-name-description=made by clone');
    const clone = await str('VM.get_by_uuid', cloned);
    assert.equal(await call('VM.get_is_a_template', clone), true);
    assert.equal(await call('VM.get_is_a_snapshot', clone), false);
    assert.equal(await call('VM.get_name_description', clone), 'made by clone');

    const srUuid = await str('SR.get_uuid', (await call('SR.get_by_name_label', 'second') as string[])[0]);
    const copied = await s.xe.ok('snapshot-copy', `snapshot-uuid=${snap}`, 'new-name-label=from-copy', `sr-uuid=${srUuid}`);
    const copy = await str('VM.get_by_uuid', copied);
    assert.equal(await call('VM.get_is_a_template', copy), true);
    const [copyVbd] = (await call('VM.get_VBDs', copy)) as string[];
    const copyVdi = await str('VBD.get_VDI', copyVbd);
    assert.equal(await str('SR.get_uuid', await str('VDI.get_SR', copyVdi)), srUuid, 'the copy\'s disk is on sr-uuid');
    assert.equal(Number(await call('VDI.get_virtual_size', copyVdi)), 32 * MiB);

    assert.match(await failure('snapshot-clone', `uuid=${vmUuid}`, 'new-name-label=x'),
      new RegExp(`This operation can only be performed on a VM snapshot\\. ${vmUuid} is not a VM snapshot\\.`));
  });

  it('snapshot-reset-powerstate must be forced, and then marks a suspended snapshot halted', async () => {
    await s.xe.ok('vm-start', 'vm=disk-vm');
    const cp = await s.xe.ok('vm-checkpoint', 'vm=disk-vm', 'new-name-label=cp');
    const ref = await str('VM.get_by_uuid', cp);
    assert.equal(await call('VM.get_power_state', ref), 'Suspended');
    assert.match(await failure('snapshot-reset-powerstate', `uuid=${cp}`), /This operation is dangerous and may cause data loss\. This operation must be forced \(use --force\)\./);
    assert.equal(await call('VM.get_power_state', ref), 'Suspended');
    await s.xe.ok('snapshot-reset-powerstate', `uuid=${cp}`, '--force');
    assert.equal(await call('VM.get_power_state', ref), 'Halted');
    await s.xe.ok('vm-shutdown', 'vm=disk-vm', '--force');
  });

  it('vbd-insert puts a CD into an empty drive and vbd-eject takes it out', async () => {
    const isos = join(s.home, 'isos');
    await mkdir(isos, { recursive: true });
    await writeFile(join(isos, 'tools.iso'), Buffer.alloc(MiB, 0x2a));
    const isoSr = await s.xe.ok('sr-create', `host-uuid=${hostUuid}`, 'name-label=ISOs', 'type=iso', 'content-type=iso', `device-config:location=${isos}`);
    const cd = await s.xe.ok('vdi-list', `sr-uuid=${isoSr}`, 'name-label=tools.iso', '--minimal');
    const drive = String(await call('VBD.create', completeRecord('VBD', { VM: vm, userdevice: '3', type: 'CD', mode: 'RO', empty: true })));
    const driveUuid = await str('VBD.get_uuid', drive);
    assert.match(await failure('vbd-eject', `uuid=${driveUuid}`), /Operation could not be performed because the drive is empty/);
    await s.xe.ok('vbd-insert', `uuid=${driveUuid}`, `vdi-uuid=${cd}`);
    assert.equal(await call('VBD.get_empty', drive), false);
    assert.equal(await str('VDI.get_uuid', await str('VBD.get_VDI', drive)), cd);
    assert.match(await failure('vbd-insert', `uuid=${driveUuid}`, `vdi-uuid=${cd}`), /Operation could not be performed because the drive is not empty/);
    await s.xe.ok('vbd-eject', `uuid=${driveUuid}`);
    assert.equal(await call('VBD.get_empty', drive), true);
  });

  it('message-create raises a message, message-list shows all its fields, message-destroy removes one or several', async () => {
    await s.xe.ok('message-create', 'name=BACKUP_DONE', 'priority=4', 'body=nightly backup finished', `host-uuid=${hostUuid}`);
    await s.xe.ok('message-create', 'name=DISK_LOW', 'priority=2', 'body=second SR filling', `vm-uuid=${vmUuid}`);
    const listed = await s.xe.ok('message-list', 'name=BACKUP_DONE');
    assert.match(listed, /^uuid \( RO\)\s*: [0-9a-f-]{36}\n\s*name \( RO\): BACKUP_DONE\n\s*priority \( RO\): 4\n\s*class \( RO\): Host\n\s*obj-uuid \( RO\): [0-9a-f-]{36}\n\s*timestamp \( RO\): \d{8}T\d\d:\d\d:\d\dZ\n\s*body \( RO\): nightly backup finished$/);
    assert.match(listed, new RegExp(`obj-uuid \\( RO\\): ${hostUuid}`));
    const all = (await s.xe.ok('message-list', '--minimal')).split(',');
    assert.equal(all.length, 2);

    assert.match(await failure('message-create', 'name=X', 'priority=high', 'body=b', `host-uuid=${hostUuid}`), /Priority field should be an integer/);
    assert.match(await failure('message-create', 'name=X', 'priority=1', 'body=b'), /Need one of: vm-uuid, host-uuid, sr-uuid or pool-uuid/);
    assert.match(await failure('message-create', 'name=X', 'priority=1', 'body=b', 'sr-uuid=00000000-0000-0000-0000-000000000000'), /The uuid you supplied was invalid/);
    assert.match(await failure('message-destroy'), /Need one of uuid, uuids/);
    assert.match(await failure('message-destroy', `uuid=${all[0]}`, `uuids=${all[1]}`), /Ambiguous arguments; need one of uuid, uuids/);
    assert.equal((await s.xe.ok('message-list', '--minimal')).split(',').length, 2, 'nothing destroyed by the refusals');

    await s.xe.ok('message-destroy', `uuid=${all[0]}`);
    assert.deepEqual((await s.xe.ok('message-list', '--minimal')).split(','), [all[1]]);
    await s.xe.ok('message-create', 'name=DISK_LOW', 'priority=2', 'body=again', `vm-uuid=${vmUuid}`);
    await s.xe.ok('message-destroy', `uuids=${(await s.xe.ok('message-list', '--minimal'))}`);
    assert.equal(await s.xe.ok('message-list', '--minimal'), '');
  });

  it('pool-ha-enable, pool-ha-disable and host-call-plugin print the server\'s refusals in xe\'s words', async () => {
    assert.match(await failure('pool-ha-enable'), /The operation could not be performed because the HA software is not installed on this server\./);
    assert.match(await failure('pool-ha-enable', `heartbeat-sr-uuids=${await str('SR.get_uuid', defaultSr)}`),
      /This operation cannot be performed because the referenced SR is not properly shared\./);
    assert.match(await failure('pool-ha-disable'), /The operation could not be performed because HA is not enabled on the Pool/);
    assert.equal(await call('pool.get_ha_enabled', (await call('pool.get_all') as string[])[0]), false);

    const plugin = await failure('host-call-plugin', `host-uuid=${hostUuid}`, 'plugin=updater.py', 'fn=check_update', 'args:a=1');
    assert.match(plugin, /The requested plug-in could not be found\.\nname: updater\.py/);
    assert.match(await failure('host-call-plugin', `host-uuid=${hostUuid}`, 'plugin=p', 'fn=f', `args:body:file=${join(s.home, 'missing.txt')}`),
      new RegExp(`Failed to read file ${join(s.home, 'missing.txt')}`));
  });

  it('secret-create prints a uuid whose value reads back; secret-destroy removes it', async () => {
    const uuid = await s.xe.ok('secret-create', 'value=array-password', 'other-config:purpose=netapp');
    const ref = await str('secret.get_by_uuid', uuid);
    assert.equal(await call('secret.get_value', ref), 'array-password');
    assert.deepEqual(await call('secret.get_other_config', ref), { purpose: 'netapp' });
    await s.xe.ok('secret-destroy', `uuid=${uuid}`);
    await assert.rejects(call('secret.get_by_uuid', uuid), /UUID_INVALID/);
  });

  it('subject-role-add and -remove change a subject\'s roles by name or uuid; subject-remove removes it', async () => {
    const [viewer] = (await call('role.get_by_name_label', 'read-only')) as string[];
    const subject = await str('subject.islet_create_local_user', 'alice', 'alice-pw-1', viewer);
    const uuid = await str('subject.get_uuid', subject);
    const roleNames = async () => Promise.all(((await call('subject.get_roles', subject)) as string[]).map((r) => str('role.get_name_label', r)));
    await s.xe.ok('subject-role-add', `uuid=${uuid}`, 'role-name=vm-operator');
    assert.deepEqual((await roleNames()).sort(), ['read-only', 'vm-operator']);
    await s.xe.ok('subject-role-remove', `uuid=${uuid}`, `role-uuid=${await str('role.get_uuid', viewer)}`);
    assert.deepEqual(await roleNames(), ['vm-operator']);
    assert.match(await failure('subject-role-add', `uuid=${uuid}`), /Required parameter not found: role-uuid or role-name/);
    assert.match(await failure('subject-role-add', `uuid=${uuid}`, 'role-name=x', 'role-uuid=y'), /Parameters role-uuid and role-name cannot be used together/);
    await s.xe.ok('subject-remove', `subject-uuid=${uuid}`);
    await assert.rejects(call('subject.get_record', subject), /HANDLE_INVALID/);
  });

  it('vdi-update refreshes a disk; vdi-introduce records a forgotten one again, with its content', async () => {
    const vdi = String(await s.api.callAsync('VDI.create', {
      SR: defaultSr, name_label: 'to forget', virtual_size: 4 * MiB, type: 'user', sharable: false, read_only: false, other_config: {},
    }));
    await s.api.putFile('/import_raw_vdi', { vdi }, Buffer.alloc(MiB, 0x5a));
    const uuid = await str('VDI.get_uuid', vdi);
    const location = await str('VDI.get_location', vdi);
    await s.xe.ok('vdi-update', `uuid=${uuid}`);
    await s.xe.ok('vdi-forget', `uuid=${uuid}`);
    await assert.rejects(call('VDI.get_by_uuid', uuid), /UUID_INVALID/);
    const srUuid = await str('SR.get_uuid', defaultSr);
    const again = await s.xe.ok('vdi-introduce', `uuid=${uuid}`, `sr-uuid=${srUuid}`, 'type=user', `location=${location}`, 'name-label=found again', 'managed=true');
    assert.equal(again, uuid);
    const ref = await str('VDI.get_by_uuid', uuid);
    assert.equal(await call('VDI.get_name_label', ref), 'found again');
    assert.equal(Number(await call('VDI.get_virtual_size', ref)), 4 * MiB, 'the size is the storage\'s');
    const bytes = Buffer.from(await (await fetch(`${s.islet.url}/export_raw_vdi?session_id=${s.api.sessionId}&vdi=${ref}&format=raw`)).arrayBuffer());
    assert.ok(bytes.subarray(0, MiB).every((b) => b === 0x5a), 'the content is the one written before the forget');
    await s.api.callAsync('VDI.destroy', ref);
  });

  it('snapshot-export-to-template writes an XVA that imports as a template; template-export refuses a VM', async () => {
    const snap = await s.xe.ok('vm-snapshot', 'vm=disk-vm', 'new-name-label=to-export');
    const file = join(s.home, 'snap.xva');
    await s.xe.ok('snapshot-export-to-template', `snapshot-uuid=${snap}`, `filename=${file}`);
    const imported = await s.xe.ok('vm-import', `filename=${file}`);
    const ref = await str('VM.get_by_uuid', imported);
    assert.equal(await call('VM.get_is_a_template', ref), true);
    assert.equal(await call('VM.get_name_label', ref), 'to-export');
    const tmplFile = join(s.home, 'template.xva');
    await s.xe.ok('template-export', `template-uuid=${imported}`, `filename=${tmplFile}`);
    assert.match(await failure('template-export', `template-uuid=${vmUuid}`, `filename=${join(s.home, 'vm.xva')}`),
      new RegExp(`This operation can only be performed on a VM template\\. ${vmUuid} is not a VM template\\.`));
    assert.match(await failure('snapshot-export-to-template', `snapshot-uuid=${vmUuid}`, `filename=${join(s.home, 'vm.xva')}`),
      /is not a VM snapshot\./);
  });

  it('prints the memory overheads, and the VMs that prevent the evacuation of the only host', async () => {
    const overhead = Number(await call('VM.compute_memory_overhead', vm));
    assert.equal(await s.xe.ok('vm-compute-memory-overhead', 'vm=disk-vm'), String(overhead));
    assert.equal(await s.xe.ok('vm-compute-maximum-memory', 'vm=disk-vm', 'total=1GiB'), String(1024 * MiB - overhead));
    assert.equal(Number(await s.api.callAsync('VM.maximise_memory', vm, 1024 * MiB, true)), 1024 * MiB - overhead);
    assert.match(await failure('vm-compute-maximum-memory', 'vm=disk-vm', 'total=much'), /Failed to parse field 'total'/);
    const [host] = (await call('host.get_all')) as string[];
    assert.equal(await s.xe.ok('host-compute-memory-overhead'), String(await call('host.compute_memory_overhead', host)));
    await s.xe.ok('vm-start', 'vm=disk-vm');
    try {
      const out = await s.xe.ok('host-get-vms-which-prevent-evacuation', `uuid=${hostUuid}`);
      assert.match(out, new RegExp(`^uuid \\( RO\\)\\s*: ${vmUuid}\\n\\s*name-label \\( RW\\): disk-vm\\n\\s*reason \\( RO\\): NO_HOSTS_AVAILABLE`));
    } finally {
      await s.xe.ok('vm-shutdown', 'vm=disk-vm', '--force');
    }
  });

  /** The VM's drives at `userdevice`. */
  async function vbdsAt(of: string, userdevice: string): Promise<string[]> {
    const out: string[] = [];
    for (const vbd of (await call('VM.get_VBDs', of)) as string[]) if (await call('VBD.get_userdevice', vbd) === userdevice) out.push(vbd);
    return out;
  }
});
