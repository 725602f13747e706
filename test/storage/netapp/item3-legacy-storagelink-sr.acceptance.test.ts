/**
 * @module
 * Hotfix item (3), NetApp: an SR that XenServer 5.6's StorageLink Gateway made is brought
 * into an Islet pool. The test prepares it on the ONTAP simulator through the array's own
 * REST API, in the gateway's layout: a FlexVol `Legacy_storage__91a1818a` with one LUN per
 * VDI named `<uuid with _>`, snapshots `<uuid>_snap00` and a clone `<uuid>_clone00`
 * (FlexClone LUNs), the gateway's record of each VDI in the LUN comment, data written over
 * iSCSI by the old pool's initiator (qemu-io) through its igroup before and after the
 * snapshots. Then, through a real `islet pool up --hosts 2` and `bin/xe`: `sr-introduce`
 * (type netapp, the legacy sm-config keys), a PBD per host with the array's
 * `storageSystemId`, `pbd-plug`, `sr-scan`: exactly the four VDIs and two snapshots appear
 * with their names, sizes, uuids, array identities and snapshot relations, each reading
 * over NBD what the old pool wrote to it; the VM that used two of them is re-created from
 * metadata (`xe vm-import metadata=true`) and starts from them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatLegacyRecord, legacyLunName } from '../../../src/storage/array/legacy-storagelink.js';
import { NetappSan } from '../../../src/storage/netapp/netapp-san.js';
import {
  GATEWAY_IQN, LEGACY_DISKS, LEGACY_READS, LEGACY_SR_UUID, LEGACY_WRITES, checkLegacyVdis, importAndStartLegacyVm, iscsiWrite, legacyDisk, type LegacyDisk,
} from '../array/legacy-sr-fixture.js';
import { nbdVerify, startNetappPool, type NetappPool } from './netapp-pool-fixture.js';

const FLEXVOL = 'Legacy_storage__91a1818a';
type Rec = Record<string, any>;

/** The LUN name the gateway gave a legacy disk (snapshots and clones after the disk they came from). */
function lunName(d: LegacyDisk): string {
  if (d.snapshotOf) return legacyLunName(legacyDisk(d.snapshotOf).uuid!, 'snapshot', 0);
  if (d.cloneOf) return legacyLunName(legacyDisk(d.cloneOf).uuid!, 'clone', 0);
  return legacyLunName(d.uuid!);
}

/** The gateway's record: disks are named by their uuid; snapshots and clones carry it (when it had one). */
function record(d: LegacyDisk): string {
  return formatLegacyRecord({
    ...(d.snapshotOf || d.cloneOf ? (d.uuid ? { uuid: d.uuid } : {}) : {}),
    nameLabel: d.name, nameDescription: d.description, ...(d.snapshotTime ? { snapshotTime: d.snapshotTime } : {}),
  });
}

/** Makes the gateway's SR on the simulator through ONTAP's REST API. */
async function prepareLegacySr(f: NetappPool): Promise<void> {
  const [svm] = await f.array.list<{ name: string }>('/api/svm/svms', { fields: 'name' });
  await f.array.post('/api/storage/volumes', {
    name: FLEXVOL, svm: { name: svm!.name }, aggregates: [{ name: 'aggr1' }], size: 1024 * 1024 * 1024,
    guarantee: { type: 'none' }, space: { snapshot: { reserve_percent: 0 }, fractional_reserve: 0 }, comment: 'StorageLink SR Legacy_storage',
  });
  const path = (d: LegacyDisk) => `/vol/${FLEXVOL}/${lunName(d)}`;
  const disks = LEGACY_DISKS.filter((x) => !x.snapshotOf && !x.cloneOf);
  for (const d of disks) {
    await f.array.post('/api/storage/luns', { svm: { name: svm!.name }, name: path(d), os_type: 'xen', comment: record(d), space: { size: d.size } });
  }
  // The old pool's host wrote its data over iSCSI through its own igroup, unmapped when it went.
  await f.array.post('/api/protocols/san/igroups', { svm: { name: svm!.name }, name: 'xs56_pool', protocol: 'iscsi', os_type: 'xen', initiators: [{ name: GATEWAY_IQN }] });
  const { portal, targetIqn } = await new NetappSan(f.array, svm!.name).portal();
  const numbers = new Map<string, number>();
  for (const d of disks) {
    await f.array.post('/api/protocols/san/lun-maps', { svm: { name: svm!.name }, lun: { name: path(d) }, igroup: { name: 'xs56_pool' } });
    const [m] = await f.array.list<{ logical_unit_number: number }>('/api/protocols/san/lun-maps', { 'lun.name': path(d), 'igroup.name': 'xs56_pool', fields: 'logical_unit_number' });
    numbers.set(d.key, m!.logical_unit_number);
  }
  const write = async (later: boolean) => {
    for (const w of LEGACY_WRITES.filter((x) => (x.afterSnapshots ?? false) === later)) await iscsiWrite(portal, targetIqn, numbers.get(w.key)!, w.offset, w.length, w.fill);
  };
  await write(false);
  const copy = async (d: LegacyDisk) => {
    const from = legacyDisk((d.snapshotOf ?? d.cloneOf)!);
    await f.array.post('/api/storage/luns', { svm: { name: svm!.name }, name: path(d), comment: record(d), clone: { source: { name: path(from) } } });
  };
  for (const d of LEGACY_DISKS.filter((x) => x.snapshotOf)) await copy(d);
  await write(true);
  for (const d of LEGACY_DISKS.filter((x) => x.cloneOf)) await copy(d);
  for (const m of await f.array.list<{ lun: { uuid: string }; igroup: { uuid: string } }>('/api/protocols/san/lun-maps', { 'igroup.name': 'xs56_pool', fields: 'lun,igroup' })) {
    await f.array.delete(`/api/protocols/san/lun-maps/${m.lun.uuid}/${m.igroup.uuid}`);
  }
}

describe('(3) legacy StorageLink SR on NetApp re-attaches with its VDIs and snapshots', { timeout: 900_000 }, () => {
  let f: NetappPool;
  let dir: string;
  before(async () => {
    f = await startNetappPool();
    dir = await mkdtemp(join(tmpdir(), 'legacy-netapp-'));
  });
  after(async () => {
    await f?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sr-introduce + pbd-create/plug + sr-scan finds every VDI with its name, size, identity and snapshot relation; the VM re-created from metadata starts from them', async () => {
    await prepareLegacySr(f);
    const base = f.dc();
    const systems = await f.xeOk('sr-probe', 'type=netapp', ...base.filter((a) => !a.startsWith('device-config:storagePoolId=')));
    const sysId = /<storageSystemId>(NETAPP__LUN__[0-9A-F]{8})<\/storageSystemId>/.exec(systems)?.[1];
    assert.ok(sysId, systems);

    // Without the gateway's sm-config (cslg) the record is an ordinary SR: it takes nothing over.
    const plain = await f.xeOk('sr-introduce', `uuid=${LEGACY_SR_UUID}`, 'type=netapp', 'name-label=plain', 'shared=true', 'content-type=user');
    const master = (await f.xeOk('host-list', '--minimal')).split(',')[0]!;
    const tried = await f.xeOk('pbd-create', `host-uuid=${master}`, `sr-uuid=${plain}`, ...base, `device-config:storageSystemId=${sysId}`);
    const refused = await f.xe('pbd-plug', `uuid=${tried}`);
    assert.notEqual(refused.code, 0);
    assert.match(refused.out + refused.err, /SR_BACKEND_FAILURE_47[\s\S]*not on this array/);
    const [untouched] = await f.array.list<Rec>('/api/storage/volumes', { name: FLEXVOL, fields: 'comment' });
    assert.equal(untouched!.comment, 'StorageLink SR Legacy_storage', 'the gateway\'s FlexVol is left alone');
    await f.xeOk('sr-forget', `uuid=${plain}`);

    const srUuid = await f.xeOk('sr-introduce', `uuid=${LEGACY_SR_UUID}`, 'type=netapp', 'name-label=Legacy_storage', 'shared=true', 'content-type=user',
      'sm-config:LUNperVDI=true', 'sm-config:cslg=10.80.238.220', 'sm-config:serial=3064792', 'sm-config:sub-pools=f0f3a7ce-471c-11e0-9356-00a09804ab62,',
      'sm-config:multipathable=true', 'sm-config:protocols=iscsi');
    assert.equal(srUuid, LEGACY_SR_UUID);
    for (const h of (await f.xeOk('host-list', '--minimal')).split(',')) {
      const pbd = await f.xeOk('pbd-create', `host-uuid=${h}`, `sr-uuid=${srUuid}`, ...base,
        `device-config:storageSystemId=${sysId}`, 'device-config:protocol=iscsi', 'device-config:adapterid=NETAPP');
      await f.xeOk('pbd-plug', `uuid=${pbd}`);
    }
    await f.xeOk('sr-scan', `uuid=${srUuid}`);
    assert.equal(await f.xeOk('sr-param-get', `uuid=${srUuid}`, 'param-name=sm-config', 'param-key=cslg'), '10.80.238.220', 'the legacy sm-config stays');

    const luns = await f.array.list<Rec>('/api/storage/luns', { 'location.volume.name': FLEXVOL, fields: 'name,serial_number,space' });
    const lunOf = (d: LegacyDisk) => luns.find((l) => l.name === `/vol/${FLEXVOL}/${lunName(d)}`)!;
    const check = {
      identity: (r: Rec, d: LegacyDisk) => {
        const l = lunOf(d);
        assert.equal(r.sm_config['netapp-lun'], l.name, `${d.name}: the LUN`);
        assert.equal(r.sm_config.SVID, `${sysId}__${Buffer.from(String(l.serial_number), 'latin1').toString('hex').toUpperCase()}`, `${d.name}: SVID from the LUN serial`);
        assert.equal(String(r.physical_utilisation), String(l.space.used), `${d.name}: space used, as the array says`);
      },
    };
    const first = await checkLegacyVdis(f.api, srUuid, check);
    for (const r of LEGACY_READS) {
      const vdi = String(await f.api.call('VDI.get_by_uuid', first.get(r.key)!));
      assert.ok(await nbdVerify(f.api, vdi, r.offset, r.length, r.fill), `${r.key} holds 0x${r.fill.toString(16)} at ${r.offset}+${r.length}, as the old pool wrote it`);
    }
    // A second scan (and the other host's plug) neither duplicates nor renames anything.
    await f.xeOk('sr-scan', `uuid=${srUuid}`);
    assert.deepEqual(await checkLegacyVdis(f.api, srUuid, check), first);
    const [vol] = await f.array.list<Rec>('/api/storage/volumes', { name: FLEXVOL, fields: 'comment' });
    assert.equal(vol!.comment, `islet-sr:${srUuid}`, 'the FlexVol is now marked as this SR');

    await importAndStartLegacyVm(f.api, f.xeOk, dir);
  });
});
