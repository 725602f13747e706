/**
 * @module
 * What the legacy StorageLink acceptance tests share: the SR XenServer 5.6's StorageLink
 * Gateway left on an array (four disks, one of them a clone, and two snapshots, with the
 * names and times the gateway stored), a metadata-only XVA of the VM that used two of the
 * disks (`ova.xml` alone, its drives naming the disks by uuid, as `xe vm-export
 * metadata=true` on the old pool wrote it), and the check that a re-attached SR shows
 * exactly those disks.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { XapiClient } from '../../../src/client/xapi-client.js';
import { writeOvaXml, type OvaObject } from '../../../src/actions/vm/xva/xva-ova-xml.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
type Rec = Record<string, any>;

export interface LegacyDisk {
  readonly key: string;
  /** The VDI uuid the gateway's pool knew (stored on the array or in the object's name). */
  readonly uuid?: string;
  readonly name: string;
  readonly description: string;
  readonly size: number;
  /** A snapshot: the key of the disk it was taken of, and when. */
  readonly snapshotOf?: string;
  readonly snapshotTime?: string;
  /** A clone: the key of the disk it was cloned from. */
  readonly cloneOf?: string;
}

/** The legacy SR: its uuid in the old pool, and what it held. */
export const LEGACY_SR_UUID = '4dffd427-d61c-4db1-9fec-5e330a079a6f';

export const LEGACY_DISKS: readonly LegacyDisk[] = [
  { key: 'root', uuid: 'd46a7dab-bfd5-476d-995b-d8c393e8bbbb', name: 'web01 root', description: 'Created by template provisioner', size: 64 * MiB },
  { key: 'data', uuid: 'eb2265e7-05e9-43ff-9eee-2f3a782910e9', name: 'web01 data', description: 'site content', size: 32 * MiB },
  { key: 'logs', uuid: 'a83cc340-5d8f-4f3f-a58b-f32363b6c557', name: 'logs', description: '', size: 16 * MiB },
  { key: 'logs-copy', uuid: '5363ee73-2cfe-4c86-8786-83aff51d1f45', name: 'logs (copy)', description: 'cloned for analysis', size: 16 * MiB, cloneOf: 'logs' },
  { key: 'root-snap', uuid: 'f5ace00a-b9e9-4040-b89b-b9f9e78f4e52', name: 'web01 root before upgrade', description: 'snapshot', size: 64 * MiB, snapshotOf: 'root', snapshotTime: '20110314T09:30:00Z' },
  // The gateway stored no uuid for this one: Islet derives it from the array's identity.
  { key: 'data-snap', name: 'web01 data nightly', description: '', size: 32 * MiB, snapshotOf: 'data', snapshotTime: '20110315T02:00:00Z' },
];

/** What the gateway's pool wrote to the disks over iSCSI: `afterSnapshots` writes came after the snapshots were taken. */
export const LEGACY_WRITES: readonly { key: string; offset: number; length: number; fill: number; afterSnapshots?: boolean }[] = [
  { key: 'root', offset: 0, length: 4 * MiB, fill: 0x41 },
  { key: 'data', offset: 0, length: 4 * MiB, fill: 0x42 },
  { key: 'logs', offset: MiB, length: MiB, fill: 0x43 },
  { key: 'root', offset: 0, length: MiB, fill: 0x51, afterSnapshots: true },
];

/** What each legacy VDI must then read (through Islet, over NBD). */
export const LEGACY_READS: readonly { key: string; offset: number; length: number; fill: number }[] = [
  { key: 'root', offset: 0, length: MiB, fill: 0x51 },
  { key: 'root', offset: MiB, length: 3 * MiB, fill: 0x41 },
  { key: 'root-snap', offset: 0, length: 4 * MiB, fill: 0x41 },
  { key: 'data', offset: 0, length: 4 * MiB, fill: 0x42 },
  { key: 'data-snap', offset: 0, length: 4 * MiB, fill: 0x42 },
  { key: 'logs', offset: MiB, length: MiB, fill: 0x43 },
  { key: 'logs-copy', offset: 0, length: MiB, fill: 0 },
  { key: 'logs-copy', offset: MiB, length: MiB, fill: 0x43 },
];

/** The initiator the gateway's pool wrote with (qemu's iSCSI client, given access on the array). */
export const GATEWAY_IQN = 'iqn.2010-06.com.citrix:xs56-gateway-host';

/** Writes `length` bytes of `fill` at `offset` of an iSCSI LUN with qemu-io, as the old pool's host. */
export async function iscsiWrite(portal: string, target: string, lun: number, offset: number, length: number, fill: number): Promise<void> {
  const { stdout, stderr } = await run('qemu-io', ['--image-opts', '-c', `write -P ${fill} ${offset} ${length}`,
    `driver=iscsi,transport=tcp,portal=${portal},target=${target},lun=${lun},initiator-name=${GATEWAY_IQN}`], { maxBuffer: 1 << 20 });
  if (/failed|error/i.test(stdout + stderr)) throw new Error(`qemu-io write to ${target} LUN ${lun}: ${stdout}${stderr}`);
}

export const LEGACY_VM = { uuid: '0b4a2a57-8f6e-4f44-9d8e-2f0f7a6b6c01', name: 'web01', disks: ['root', 'data'] };

export function legacyDisk(key: string): LegacyDisk {
  const d = LEGACY_DISKS.find((x) => x.key === key);
  if (!d) throw new Error(`no legacy disk ${key}`);
  return d;
}

/** A metadata-only XVA of the legacy VM (its two disks by uuid), written with `tar`. */
export async function legacyVmMetadataXva(dir: string): Promise<string> {
  const src = join(dir, 'legacy-vm-meta');
  await mkdir(src, { recursive: true });
  const objects: OvaObject[] = [
    {
      cls: 'VM', id: 'Ref:0', snapshot: {
        uuid: LEGACY_VM.uuid, name_label: LEGACY_VM.name, name_description: 'from XenServer 5.6', is_a_template: false,
        memory_static_max: String(256 * MiB), memory_dynamic_max: String(256 * MiB), memory_dynamic_min: String(256 * MiB), memory_static_min: String(64 * MiB),
        VCPUs_max: '1', VCPUs_at_startup: '1', VBDs: LEGACY_VM.disks.map((_, i) => `Ref:${1 + i}`), VIFs: [],
      },
    },
    ...LEGACY_VM.disks.map((key, i) => ({
      cls: 'VBD', id: `Ref:${1 + i}`, snapshot: {
        VM: 'Ref:0', VDI: `Ref:${10 + i}`, userdevice: String(i), mode: 'RW', type: 'Disk', bootable: i === 0, empty: false,
      },
    })),
    { cls: 'SR', id: 'Ref:9', snapshot: { uuid: LEGACY_SR_UUID, name_label: 'Legacy_storage', type: 'cslg' } },
    ...LEGACY_VM.disks.map((key, i) => {
      const d = legacyDisk(key);
      return { cls: 'VDI', id: `Ref:${10 + i}`, snapshot: { uuid: d.uuid!, name_label: d.name, virtual_size: String(d.size), SR: 'Ref:9', type: 'system' } };
    }),
  ];
  await writeFile(join(src, 'ova.xml'), writeOvaXml({ version: { hostname: 'xs56', export_vsn: '2', xapi_major: '1', xapi_minor: '3', product_version: '5.6.0' }, objects }));
  const file = join(dir, 'legacy-vm-meta.xva');
  await run('tar', ['-cf', file, '-C', src, 'ova.xml']);
  return file;
}

/** The SR's VDI records, by uuid. */
export async function vdisOfSr(api: XapiClient, srUuid: string): Promise<Map<string, Rec & { ref: string }>> {
  const sr = String(await api.call('SR.get_by_uuid', srUuid));
  const all = (await api.call('VDI.get_all_records')) as Record<string, Rec>;
  return new Map(Object.entries(all).filter(([, r]) => r.SR === sr).map(([ref, r]) => [String(r.uuid), { ...r, ref }]));
}

/**
 * Checks the re-attached SR holds exactly the legacy disks: names, descriptions, virtual
 * sizes, snapshot relations and times; `identity` says each record's array identity
 * (sm_config) and `used` its space as the array reports it. Returns uuid by disk key.
 */
export async function checkLegacyVdis(api: XapiClient, srUuid: string, check: {
  identity(vdi: Rec, d: LegacyDisk): Promise<void> | void;
}): Promise<Map<string, string>> {
  const vdis = await vdisOfSr(api, srUuid);
  const visible = [...vdis.values()].filter((r) => r.managed !== false);
  assert.equal(visible.length, LEGACY_DISKS.length, `the SR holds exactly the ${LEGACY_DISKS.length} legacy VDIs: ${visible.map((r) => r.name_label).join(', ')}`);
  const byKey = new Map<string, string>();
  const byName = new Map(visible.map((r) => [String(r.name_label), r]));
  assert.equal(byName.size, visible.length, 'every name appears once');
  for (const d of LEGACY_DISKS) {
    const r = byName.get(d.name);
    assert.ok(r, `VDI "${d.name}" found`);
    if (d.uuid) assert.equal(r.uuid, d.uuid, `${d.name} keeps its uuid`);
    byKey.set(d.key, String(r.uuid));
    assert.equal(r.name_description, d.description, `${d.name}: description`);
    assert.equal(String(r.virtual_size), String(d.size), `${d.name}: virtual size`);
    assert.equal(r.is_a_snapshot, d.snapshotOf !== undefined, `${d.name}: is_a_snapshot`);
    assert.equal(r.read_only, d.snapshotOf !== undefined, `${d.name}: snapshots are read-only`);
    await check.identity(r, d);
  }
  for (const d of LEGACY_DISKS) {
    const r = byName.get(d.name)!;
    if (d.snapshotOf) {
      const of = vdis.get(byKey.get(d.snapshotOf)!)!;
      assert.equal(r.snapshot_of, of.ref, `${d.name} is a snapshot of ${of.name_label}`);
      assert.equal(r.snapshot_time, d.snapshotTime, `${d.name}: snapshot time`);
      assert.deepEqual(of.snapshots, [r.ref], `${of.name_label} lists its snapshot`);
    } else {
      assert.equal(r.snapshot_of, 'OpaqueRef:NULL', `${d.name} is no snapshot`);
      if (!LEGACY_DISKS.some((x) => x.snapshotOf === d.key)) assert.deepEqual(r.snapshots, [], `${d.name} has no snapshots`);
    }
  }
  return byKey;
}

/**
 * Re-creates the legacy VM from its metadata-only XVA with `xe vm-import metadata=true`,
 * starts it, and checks its drives are the legacy disks. Returns the VM's uuid.
 */
export async function importAndStartLegacyVm(api: XapiClient, xeOk: (...a: string[]) => Promise<string>, dir: string): Promise<string> {
  const file = await legacyVmMetadataXva(dir);
  const vmUuid = (await xeOk('vm-import', `filename=${file}`, 'metadata=true')).trim();
  assert.match(vmUuid, /^[0-9a-f-]{36}$/, `vm-import prints the VM's uuid: ${vmUuid}`);
  assert.equal(await xeOk('vm-param-get', `uuid=${vmUuid}`, 'param-name=name-label'), LEGACY_VM.name);
  await xeOk('vm-start', `uuid=${vmUuid}`);
  assert.equal(await xeOk('vm-param-get', `uuid=${vmUuid}`, 'param-name=power-state'), 'running');
  const vm = String(await api.call('VM.get_by_uuid', vmUuid));
  const drives: Record<string, string> = {};
  for (const vbd of (await api.call('VM.get_VBDs', vm)) as string[]) {
    const r = (await api.call('VBD.get_record', vbd)) as Rec;
    if (r.type !== 'Disk') continue;
    assert.equal(r.currently_attached, true, `drive ${r.userdevice} is attached to the running VM`);
    drives[String(r.userdevice)] = String(await api.call('VDI.get_uuid', r.VDI));
  }
  assert.deepEqual(drives, Object.fromEntries(LEGACY_VM.disks.map((k, i) => [String(i), legacyDisk(k).uuid!])), 'the VM boots from the legacy disks');
  return vmUuid;
}
