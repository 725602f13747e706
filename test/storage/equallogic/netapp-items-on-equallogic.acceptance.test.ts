/**
 * @module
 * The hotfix's NetApp items (2, 4, 6, 8, 9) on an EqualLogic SR, tried as a user would:
 * a real `islet pool up --hosts 2`, `xe sr-create type=equallogic shared=true` against
 * `islet sim equallogic`, VMs made, snapshotted and reverted over XenAPI, disks written and
 * read over NBD (qemu-io, nbdcopy), and the group itself asked, through its own CLI in MB
 * (`cli-settings displayinMB on`), what it holds. Also the group password: `sr-create`
 * moves it into a XenAPI secret, the PBDs name only `password_secret`, and a PBD naming
 * no secret fails clearly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseDetail, parseEqlSize, parseTable } from '../../../src/storage/equallogic/cli-parse.js';
import { EqlClient } from '../../../src/storage/equallogic/eql-client.js';
import type { EqlSimProcess } from '../../helpers/equallogic-sim-process.js';
import { diskOf, vmWithDisk } from '../acceptance/storage-fixture.js';
import { nbdSha256, nbdVerify, nbdWrite } from '../netapp/netapp-pool-fixture.js';
import { deviceConfig, missingNbdTools, startEqlPool, type EqlPool } from './eql-pool-fixture.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
type Rec = Record<string, any>;

const missing = await missingNbdTools();

interface VolumeFacts { reserve: number; inUse: number; snapReserve: number; snapInUse: number; thin: boolean; snapshots: number }

/** The group's own view, read over its CLI with sizes in MB. */
class GroupView {
  private readonly eql: EqlClient;
  private ready: Promise<unknown>;
  constructor(sim: EqlSimProcess) {
    // One session, so the display setting holds for every command.
    this.eql = new EqlClient({ host: sim.host, port: sim.port, username: 'grpadmin', password: 'eqlsecret', timeoutMs: 30_000 }, 1);
    this.ready = this.eql.run('cli-settings displayinMB on');
  }

  async volume(name: string): Promise<VolumeFacts> {
    await this.ready;
    const d = parseDetail(await this.eql.run(`volume select ${name} show`));
    const reserve = parseEqlSize(d.get('VolReserve')!);
    const pct = Number(/^(\d+)%/.exec(d.get('Snap-Reserve') ?? '')?.[1] ?? 0);
    const snapReserve = Math.ceil((reserve * pct) / 100 / MiB) * MiB;
    const avail = parseEqlSize(/\(([^)]+)\)/.exec(d.get('Snap-Reserve-Avail') ?? '')?.[1] ?? '0MB');
    return {
      reserve, inUse: parseEqlSize(d.get('VolReserveInUse')!), snapReserve, snapInUse: snapReserve - avail,
      thin: d.get('Thin-Provision') === 'enabled', snapshots: Number(d.get('Snapshots')),
    };
  }

  async snapshots(volume: string): Promise<string[]> {
    await this.ready;
    return parseTable(await this.eql.run(`volume select ${volume} snapshot show`)).map((r) => r.Name!);
  }

  async poolUsed(): Promise<number> {
    await this.ready;
    const p = parseDetail(await this.eql.run('pool select default show'));
    return parseEqlSize(p.get('TotalCapacity')!) - parseEqlSize(p.get('FreeSpace')!);
  }

  close(): void {
    this.eql.close();
  }
}

describe('NetApp items (2, 4, 6, 8, 9) on EqualLogic, through a pool of 2', { skip: missing.length ? `missing ${missing.join(', ')}` : false, timeout: 1_800_000 }, () => {
  let p: EqlPool;
  let sim: EqlSimProcess;
  let group: GroupView;
  let srUuid: string;
  let sr: string;
  const volumeOf = async (vdi: string) => String(((await p.api.call('VDI.get_sm_config', vdi)) as Record<string, string>)['eql-volume']);

  before(async () => {
    p = await startEqlPool();
    sim = await p.sim({ groupName: 'hotfixgrp' });
    group = new GroupView(sim);
    srUuid = await p.createSr(sim, 'EqualLogic thin');
    sr = String(await p.api.call('SR.get_by_uuid', srUuid));
  });
  after(async () => {
    group?.close();
    await p?.close();
  });

  it('the group password lives in a secret: PBDs keep password_secret only, and the driver reads it', async () => {
    const pbds = (await p.api.call('SR.get_PBDs', sr)) as string[];
    assert.equal(pbds.length, 2);
    let secret = '';
    for (const pbd of pbds) {
      assert.equal(await p.api.call('PBD.get_currently_attached', pbd), true);
      const dc = (await p.api.call('PBD.get_device_config', pbd)) as Record<string, string>;
      assert.equal(dc.password, undefined, 'no PBD keeps the password');
      assert.match(dc.password_secret ?? '', /^[0-9a-f-]{36}$/);
      secret = dc.password_secret!;
      assert.equal(await p.api.call('secret.get_value', String(await p.api.call('secret.get_by_uuid', secret))), 'eqlsecret');
    }
    assert.doesNotMatch(await p.xeOk('pbd-list', `sr-uuid=${srUuid}`, 'params=device-config'), /eqlsecret/);

    // One host's PBD again, first naming a secret that does not exist, then the right one.
    const member = (await p.xeOk('host-list', '--minimal')).split(',').at(-1)!;
    const pbd = await p.xeOk('pbd-list', `sr-uuid=${srUuid}`, `host-uuid=${member}`, '--minimal');
    await p.xeOk('pbd-unplug', `uuid=${pbd}`);
    await p.xeOk('pbd-destroy', `uuid=${pbd}`);
    const keyed = (s: string) => [...deviceConfig(sim).filter((a) => !a.startsWith('device-config:password=')), `device-config:password_secret=${s}`];
    const wrong = await p.xeOk('pbd-create', `host-uuid=${member}`, `sr-uuid=${srUuid}`, ...keyed('00000000-0000-4000-8000-000000000000'));
    const r = await p.xe('pbd-plug', `uuid=${wrong}`);
    assert.notEqual(r.code, 0);
    assert.match(r.out + r.err, /SR_BACKEND_FAILURE_20[\s\S]*No such secret/);
    await p.xeOk('pbd-destroy', `uuid=${wrong}`);
    const right = await p.xeOk('pbd-create', `host-uuid=${member}`, `sr-uuid=${srUuid}`, ...keyed(secret));
    await p.xeOk('pbd-plug', `uuid=${right}`);
    assert.equal(await p.xeOk('pbd-param-get', `uuid=${right}`, 'param-name=currently-attached'), 'true');
  });

  let vm = '';
  let vmDisk = '';
  let vmVolume = '';

  it('hotfix item (2): a VM with a 20 GiB thin disk, 1 GiB written, costs what the group\'s thin rules say, nothing like +140%', async () => {
    const before = await group.poolUsed();
    ({ vm, vdi: vmDisk } = await vmWithDisk(p.api, sr, 'thin-vm', 20 * GiB));
    vmVolume = await volumeOf(vmDisk);
    await nbdWrite(p.api, vmDisk, 0, GiB, 0x11);
    const v = await group.volume(vmVolume);
    assert.equal(v.thin, true);
    assert.ok(v.inUse >= GiB && v.inUse <= GiB * 1.01, `the volume holds ${v.inUse} bytes for 1 GiB written`);
    assert.equal(v.reserve, 2 * GiB, 'its reserve is thin-min-reserve (10% of 20 GiB), not its size');
    const added = (await group.poolUsed()) - before;
    assert.equal(added, v.reserve + v.snapReserve, 'the pool gives exactly the volume and snapshot reserves');
    assert.ok(added <= 0.2 * 20 * GiB + 2 * MiB, `pool use grew by ${added} bytes`);
    await p.api.call('SR.scan', sr);
    assert.equal(Number(await p.api.call('VDI.get_physical_utilisation', vmDisk)), v.inUse, 'the VDI\'s figure is the group\'s');
    assert.equal(Number(await p.api.call('SR.get_physical_utilisation', sr)), await group.poolUsed(), 'the SR\'s figure is the pool\'s');
  });

  it('hotfix item (6): 20 snapshots of the VM use no space until data is overwritten, then only the overwritten blocks', async () => {
    const used0 = await group.poolUsed();
    const v0 = await group.volume(vmVolume);
    for (let i = 0; i < 20; i++) await p.api.callAsync('VM.snapshot', vm, `s${i}`, []);
    const v1 = await group.volume(vmVolume);
    assert.equal(v1.snapshots, 20);
    assert.equal(v1.inUse, v0.inUse, 'the volume did not grow');
    assert.equal(v1.snapInUse, 0, 'the snapshots hold nothing of their own');
    assert.ok((await group.poolUsed()) - used0 <= used0 * 0.01, 'the pool did not grow');
    await nbdWrite(p.api, vmDisk, 0, 64 * MiB, 0x22);
    const v2 = await group.volume(vmVolume);
    assert.ok(v2.snapInUse >= 64 * MiB && v2.snapInUse <= 64 * MiB * 1.01, `an overwrite of 64 MiB costs the snapshots ${v2.snapInUse} bytes`);
    assert.equal(v2.inUse, v1.inUse, 'overwrites do not grow the volume');
  });

  it('hotfix item (8): a snapshot of a thin VM is thin', async () => {
    const before = await group.volume(vmVolume);
    const snap = String(await p.api.callAsync('VM.snapshot', vm, 'thin-check', []));
    const disk = await diskOf(p.api, snap);
    const sm = (await p.api.call('VDI.get_sm_config', disk)) as Record<string, string>;
    assert.equal(sm.allocation, 'thin');
    assert.equal(sm['eql-volume'], vmVolume, 'a snapshot of the disk\'s volume on the group');
    assert.ok((await group.snapshots(vmVolume)).includes(sm['eql-snapshot']!));
    const after = await group.volume(vmVolume);
    assert.equal(after.thin, true);
    assert.equal(after.reserve, before.reserve, 'the volume\'s reserve did not grow to its size');
  });

  it('hotfix item (9): revert to a snapshot leaves the VM\'s disk thin, holding only the data written', async () => {
    const snaps = (await p.api.call('VM.get_snapshots', vm)) as string[];
    const replaced = await diskOf(p.api, vm);
    await p.api.callAsync('VM.revert', snaps[3]!);
    const disk = await diskOf(p.api, vm);
    // The disk the revert replaced still holds its snapshots' data: the group keeps its
    // volume, hidden, and the record stays as a base copy (not managed, read-only).
    assert.equal(await group.volume(vmVolume).then(() => true, () => false), true, 'the replaced disk\'s volume is kept');
    assert.equal(await p.api.call('VDI.get_managed', replaced), false);
    assert.equal(await p.api.call('VDI.get_read_only', replaced), true);
    const volume = await volumeOf(disk);
    assert.notEqual(volume, vmVolume, 'the reverted disk is a clone of the snapshot');
    const v = await group.volume(volume);
    assert.equal(v.thin, true);
    assert.equal(v.reserve, 2 * GiB, 'the clone reserves thin-min-reserve, not its 20 GiB');
    assert.ok(v.inUse <= GiB * 1.01, `the clone holds ${v.inUse} bytes, the data written`);
    assert.equal(((await p.api.call('VDI.get_sm_config', disk)) as Record<string, string>).allocation, 'thin');
    assert.ok(await nbdVerify(p.api, disk, 0, 64 * MiB, 0x11), 'the reverted disk holds the snapshot\'s data');
    for (const s of snaps) assert.equal(((await p.api.call('VDI.get_sm_config', await diskOf(p.api, s))) as Record<string, string>).allocation, 'thin');
  });

  it('hotfix item (4): a chain of 5 snapshots, the 3rd deleted: the other 4 keep their exact content and stay on the group', async () => {
    // The five 8 MiB writes fill the disk: more would only be zeroes hashed nine times.
    const { vm: v, vdi } = await vmWithDisk(p.api, sr, 'chain-vm', 40 * MiB);
    const volume = await volumeOf(vdi);
    const snaps: { ref: string; sha: string; snap: string }[] = [];
    for (let i = 0; i < 5; i++) {
      await nbdWrite(p.api, vdi, i * 8 * MiB, 8 * MiB, 0x30 + i);
      const s = String(await p.api.callAsync('VM.snapshot', v, `chain${i}`, []));
      const d = await diskOf(p.api, s);
      snaps.push({ ref: s, sha: await nbdSha256(p.api, d), snap: ((await p.api.call('VDI.get_sm_config', d)) as Record<string, string>)['eql-snapshot']! });
    }
    const third = snaps[2]!;
    await p.xeOk('snapshot-uninstall', `snapshot-uuid=${String(await p.api.call('VM.get_uuid', third.ref))}`, '--force');
    const onGroup = await group.snapshots(volume);
    assert.ok(!onGroup.includes(third.snap), 'the 3rd is gone from the group');
    for (const s of snaps.filter((x) => x !== third)) {
      assert.ok(onGroup.includes(s.snap), `snapshot ${s.snap} is still on the group`);
      assert.equal(await nbdSha256(p.api, await diskOf(p.api, s.ref)), s.sha);
    }
    const rec = (await p.api.call('VM.get_record', v)) as Rec;
    assert.equal(rec.snapshots.length, 4);
  });
});
