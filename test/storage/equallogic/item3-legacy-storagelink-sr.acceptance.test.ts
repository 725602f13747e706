/**
 * @module
 * Hotfix item (3), EqualLogic: an SR that XenServer 5.6's StorageLink Gateway made is
 * brought into an Islet pool. The test prepares it on the simulated group through the
 * group's own CLI over SSH, in the layout Islet reads for such SRs
 * (docs/storagelink-legacy.md): one volume per VDI `xs-<8 hex of the SR uuid>-<VDI uuid>`,
 * a snapshot of a volume `<volume>-snap00`, a clone volume `…-clone00`, the gateway's
 * record of each VDI in the description field, data written over iSCSI by the old pool's
 * initiator (qemu-io, given an access record) before and after the snapshots. Then,
 * through a real `islet pool up --hosts 2` and `bin/xe`: `sr-introduce` (type equallogic,
 * legacy sm-config keys), a PBD per host whose password is a XenAPI secret
 * (`password_secret`), `pbd-plug`, `sr-scan`: exactly the four VDIs and two snapshots
 * appear with their names, sizes, uuids and snapshot relations, each reading over NBD
 * what the old pool wrote to it; the VM that used two of them is re-created from metadata
 * (`xe vm-import metadata=true`) and starts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EqlClient } from '../../../src/storage/equallogic/eql-client.js';
import { formatLegacyRecord, legacyEqlSnapshot, legacyEqlVolume } from '../../../src/storage/array/legacy-storagelink.js';
import type { EqlSimProcess } from '../../helpers/equallogic-sim-process.js';
import {
  LEGACY_DISKS, LEGACY_READS, LEGACY_SR_UUID, LEGACY_WRITES, GATEWAY_IQN, checkLegacyVdis, importAndStartLegacyVm, iscsiWrite, legacyDisk, type LegacyDisk,
} from '../array/legacy-sr-fixture.js';
import { nbdVerify } from '../netapp/netapp-pool-fixture.js';
import { deviceConfig, startEqlPool, type EqlPool } from './eql-pool-fixture.js';

const MiB = 1024 * 1024;
type Rec = Record<string, any>;

/** Where a legacy disk is on the group: a volume, or a snapshot of one. */
function placeOf(d: LegacyDisk): { volume: string; snapshot?: string } {
  if (d.snapshotOf) {
    const volume = legacyEqlVolume(LEGACY_SR_UUID, legacyDisk(d.snapshotOf).uuid!);
    return { volume, snapshot: legacyEqlSnapshot(volume, 0) };
  }
  if (d.cloneOf) return { volume: legacyEqlVolume(LEGACY_SR_UUID, legacyDisk(d.cloneOf).uuid!, 0) };
  return { volume: legacyEqlVolume(LEGACY_SR_UUID, d.uuid!) };
}

function record(d: LegacyDisk): string {
  return formatLegacyRecord({
    ...(d.snapshotOf || d.cloneOf ? (d.uuid ? { uuid: d.uuid } : {}) : {}),
    nameLabel: d.name, nameDescription: d.description, ...(d.snapshotTime ? { snapshotTime: d.snapshotTime } : {}),
  });
}

/** Makes the gateway's SR on the simulated group through its Group Manager CLI. */
async function prepareLegacySr(sim: EqlSimProcess): Promise<void> {
  const eql = new EqlClient({ host: sim.host, port: sim.port, username: 'grpadmin', password: 'eqlsecret', timeoutMs: 30_000 });
  try {
    const group = await eql.groupInfo();
    const portal = `${sim.host}:${group.iscsiPort ?? 3260}`;
    for (const d of LEGACY_DISKS.filter((x) => !x.snapshotOf && !x.cloneOf)) {
      await eql.createVolume({ name: placeOf(d).volume, sizeMiB: d.size / MiB, pool: 'default', thin: true, description: record(d) });
      await eql.addAccess(placeOf(d).volume, GATEWAY_IQN);
    }
    const write = async (later: boolean) => {
      for (const w of LEGACY_WRITES.filter((x) => (x.afterSnapshots ?? false) === later)) {
        const volume = placeOf(legacyDisk(w.key)).volume;
        await iscsiWrite(portal, (await eql.volume(volume)).iqn, 0, w.offset, w.length, w.fill);
      }
    };
    await write(false);
    for (const d of LEGACY_DISKS.filter((x) => x.snapshotOf)) {
      const p = placeOf(d);
      await eql.snapshot(p.volume, p.snapshot!, record(d));
    }
    await write(true);
    for (const d of LEGACY_DISKS.filter((x) => x.cloneOf)) {
      await eql.cloneVolume(placeOf(legacyDisk(d.cloneOf!)).volume, placeOf(d).volume, record(d));
    }
  } finally {
    eql.close();
  }
}

describe('(3) legacy StorageLink SR on EqualLogic re-attaches with its VDIs and snapshots', { timeout: 900_000 }, () => {
  let p: EqlPool;
  let dir: string;
  before(async () => {
    p = await startEqlPool();
    dir = await mkdtemp(join(tmpdir(), 'legacy-eql-'));
  });
  after(async () => {
    await p?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sr-introduce + pbd-create (password_secret)/plug + sr-scan finds every VDI with its name, size and snapshot relation; the VM re-created from metadata starts from them', async () => {
    const sim = await p.sim({ groupName: 'legacygrp' });
    await prepareLegacySr(sim);

    // Without the gateway's sm-config (cslg) the record is an ordinary SR: it takes nothing over.
    const plain = await p.xeOk('sr-introduce', `uuid=${LEGACY_SR_UUID}`, 'type=equallogic', 'name-label=plain', 'shared=true', 'content-type=user');
    const master = (await p.xeOk('host-list', '--minimal')).split(',')[0]!;
    const tried = await p.xeOk('pbd-create', `host-uuid=${master}`, `sr-uuid=${plain}`, ...deviceConfig(sim));
    const refused = await p.xe('pbd-plug', `uuid=${tried}`);
    assert.notEqual(refused.code, 0);
    assert.match(refused.out + refused.err, /ARRAY_IDENTITY_MISMATCH/);
    await p.xeOk('sr-forget', `uuid=${plain}`);
    const look = new EqlClient({ host: sim.host, port: sim.port, username: 'grpadmin', password: 'eqlsecret', timeoutMs: 30_000 });
    try {
      assert.ok(!(await look.volumeNames()).includes(`islet-${LEGACY_SR_UUID}`), 'no metadata volume was made');
    } finally {
      look.close();
    }

    const srUuid = await p.xeOk('sr-introduce', `uuid=${LEGACY_SR_UUID}`, 'type=equallogic', 'name-label=Legacy_eql', 'shared=true', 'content-type=user',
      'sm-config:md_svid=DELL__EQUALLOGIC__legacygrp', 'sm-config:cslg=10.80.238.221', 'sm-config:LUNperVDI=true', 'sm-config:multipathable=true');
    assert.equal(srUuid, LEGACY_SR_UUID);
    // The group password is a XenAPI secret the PBDs name, never the password itself.
    const secretRef = String(await p.api.call('secret.create', { value: 'eqlsecret', other_config: {} }));
    const secret = String(await p.api.call('secret.get_uuid', secretRef));
    for (const h of (await p.xeOk('host-list', '--minimal')).split(',')) {
      const pbd = await p.xeOk('pbd-create', `host-uuid=${h}`, `sr-uuid=${srUuid}`, `device-config:target=${sim.host}`, `device-config:port=${sim.port}`,
        'device-config:username=grpadmin', `device-config:password_secret=${secret}`, 'device-config:storagePoolId=default',
        'device-config:storageSystemId=DELL__EQUALLOGIC__legacygrp', 'device-config:adapterid=DELL_EQUALLOGIC');
      await p.xeOk('pbd-plug', `uuid=${pbd}`);
    }
    assert.deepEqual((await p.xeOk('pbd-list', `sr-uuid=${srUuid}`, 'params=currently-attached', '--minimal')).split(','), ['true', 'true']);
    await p.xeOk('sr-scan', `uuid=${srUuid}`);

    const check = {
      identity: (r: Rec, d: LegacyDisk) => {
        const place = placeOf(d);
        assert.equal(r.sm_config['eql-volume'], place.volume, `${d.name}: its volume`);
        assert.equal(r.sm_config['eql-snapshot'], place.snapshot, `${d.name}: its snapshot`);
      },
    };
    const first = await checkLegacyVdis(p.api, srUuid, check);
    for (const r of LEGACY_READS) {
      const vdi = String(await p.api.call('VDI.get_by_uuid', first.get(r.key)!));
      assert.ok(await nbdVerify(p.api, vdi, r.offset, r.length, r.fill), `${r.key} holds 0x${r.fill.toString(16)} at ${r.offset}+${r.length}, as the old pool wrote it`);
    }
    await p.xeOk('sr-scan', `uuid=${srUuid}`);
    assert.deepEqual(await checkLegacyVdis(p.api, srUuid, check), first, 'a second scan finds the same uuids');

    // The group now marks the SR as Islet's; the legacy volumes keep their names.
    const eql = new EqlClient({ host: sim.host, port: sim.port, username: 'grpadmin', password: 'eqlsecret', timeoutMs: 30_000 });
    try {
      const names = await eql.volumeNames();
      assert.ok(names.includes(`islet-${srUuid}`), names.join(' '));
      for (const d of LEGACY_DISKS.filter((x) => !x.snapshotOf)) assert.ok(names.includes(placeOf(d).volume), `${placeOf(d).volume} is still there`);
    } finally {
      eql.close();
    }

    await importAndStartLegacyVm(p.api, p.xeOk, dir);
  });
});
