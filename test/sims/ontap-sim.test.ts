/**
 * The ONTAP simulator against NetApp's documented rules: REST shape (Basic auth, 202 +
 * jobs, error bodies), volume guarantee, LUN space reservation (honoured only in a
 * space-guaranteed volume), fractional reserve (the "2x LUN + delta" rule), snapshot
 * reserve, autosize and its maximum, aggregate exhaustion, FlexClone LUN sharing and
 * inheritance of the reservation, busy Snapshot copies, igroups, persistence. Including
 * the misconfigurations behind the XS602E006 NetApp bugs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OntapApiError, OntapRestClient } from '../../src/storage/netapp/ontap-rest-client.js';
import { sanExport } from '../../sims/ontap/ontap-san.js';
import { startOntapSim } from '../../sims/ontap/ontap-sim.js';
import { makeNetappTarget } from '../../sims/ontap/ontap-sim-command.js';
import { startOntapSimProcess } from '../helpers/ontap-sim-process.js';
import { assertFailedStartLeavesNothing } from '../helpers/failed-start.js';
import {
  aggregateUsed, createVolume, filled, GiB, lunByPath, MiB, snapshotVolume, startSim, TiB, volumeByName, writeLun, type SimFixture,
} from './ontap-sim-helpers.js';

const thin = { guarantee: { type: 'none' }, space: { snapshot: { reserve_percent: 0 }, fractional_reserve: 0 }, snapshot_policy: { name: 'none' } };
const thick = { guarantee: { type: 'volume' }, space: { snapshot: { reserve_percent: 0 }, fractional_reserve: 100 }, snapshot_policy: { name: 'none' } };

async function lun(f: SimFixture, path: string, size: number, reserved: boolean): Promise<void> {
  await f.client.post('/api/storage/luns', { svm: { name: 'svm0' }, name: path, os_type: 'xen', space: { size, guarantee: { requested: reserved } } });
}

function rawGet(url: string, auth?: string): Promise<{ status: number; body: { error?: { message: string; code: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, headers: auth ? { authorization: auth } : {} }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ONTAP simulator', () => {
  let f: SimFixture;
  before(async () => {
    f = await startSim({ aggregates: [{ name: 'aggr1', size: 100 * GiB }, { name: 'aggr_small', size: 64 * MiB }] });
  });
  after(async () => {
    await f.stop();
  });

  it('refuses requests without the right Basic credentials, in ONTAP\'s error shape', async () => {
    const none = await rawGet(`${f.sim.url}/api/cluster`);
    assert.equal(none.status, 401);
    assert.equal(typeof none.body.error?.message, 'string');
    assert.match(none.body.error!.code, /^\d+$/);
    const port = Number(new URL(f.sim.url).port);
    const bad = new OntapRestClient({ host: '127.0.0.1', port, username: 'admin', password: 'wrong' });
    await assert.rejects(bad.get('/api/cluster'), (e) => e instanceof OntapApiError && e.kind === 'auth' && e.status === 401);
    const c = await f.client.get<{ version: { generation: number; major: number } }>('/api/cluster');
    assert.deepEqual([c.version.generation, c.version.major], [9, 12]);
  });

  it('refuses a certificate other than the pinned one', async () => {
    const port = Number(new URL(f.sim.url).port);
    const pinned = new OntapRestClient({ host: '127.0.0.1', port, username: 'admin', password: 'netapp1!', fingerprint: 'AA:'.repeat(31) + 'AA' });
    await assert.rejects(pinned.get('/api/cluster'), (e) => e instanceof OntapApiError && e.kind === 'certificate');
  });

  it('answers a volume create with 202 and a job that ends in success; a failing job carries ONTAP\'s message and code', async () => {
    const r = await rawGet(`${f.sim.url}/api/cluster/jobs/00000000-0000-0000-0000-000000000000`, `Basic ${Buffer.from('admin:netapp1!').toString('base64')}`);
    assert.equal(r.status, 404);
    const body = await f.client.post('/api/storage/volumes', { name: 'jobvol', svm: { name: 'svm0' }, aggregates: [{ name: 'aggr1' }], size: 100 * MiB, ...thin });
    const job = (body as { job: { uuid: string } }).job;
    const ended = await f.client.get<{ state: string }>(`/api/cluster/jobs/${job.uuid}`);
    assert.equal(ended.state, 'success');
    await assert.rejects(
      f.client.post('/api/storage/volumes', { name: 'jobvol', svm: { name: 'svm0' }, aggregates: [{ name: 'aggr1' }], size: 100 * MiB }),
      (e) => e instanceof OntapApiError && e.kind === 'job' && /Duplicate volume name/.test(e.message) && /^\d+$/.test(e.code),
    );
    await assert.rejects(
      f.client.post('/api/storage/volumes', { name: 'x', svm: { name: 'svm0' }, aggregates: [{ name: 'nope' }], size: 100 * MiB }),
      (e) => e instanceof OntapApiError && /Aggregate "nope" does not exist/.test(e.message),
    );
    assert.equal((await f.client.list('/api/storage/volumes', { name: 'x' })).length, 0);
  });

  it('a thin volume may promise more than the aggregate has; a space-guaranteed one may not (hotfix item 1)', async () => {
    await createVolume(f.client, { name: 'bigthin', size: Math.ceil(1.1 * TiB), ...thin, autosize: { mode: 'grow', maximum: 2 * TiB } });
    await lun(f, '/vol/bigthin/disk', TiB, false);
    const before = await aggregateUsed(f.client);
    await createVolume(f.client, { name: 'tiny', size: 100 * MiB, ...thin });
    assert.equal(await aggregateUsed(f.client), before);
    await assert.rejects(
      createVolume(f.client, { name: 'bigthick', size: Math.ceil(1.1 * TiB), ...thick }),
      (e) => e instanceof OntapApiError && /not enough space in aggregate "aggr1"/.test(e.message),
    );
    assert.equal((await f.client.list('/api/storage/volumes', { name: 'bigthick' })).length, 0);
  });

  it('a LUN reservation is honoured only inside a space-guaranteed volume', async () => {
    await createVolume(f.client, { name: 'resnone', size: 200 * MiB, ...thin });
    await lun(f, '/vol/resnone/l', 100 * MiB, true);
    const l = await lunByPath(f.client, '/vol/resnone/l');
    assert.deepEqual(l.space.guarantee, { requested: true, reserved: false });
    assert.equal((await volumeByName(f.client, 'resnone')).space.used, 0);
    await createVolume(f.client, { name: 'resvol', size: 200 * MiB, ...thick });
    await lun(f, '/vol/resvol/l', 100 * MiB, true);
    assert.deepEqual((await lunByPath(f.client, '/vol/resvol/l')).space.guarantee, { requested: true, reserved: true });
    assert.equal((await volumeByName(f.client, 'resvol')).space.used, 100 * MiB);
    await assert.rejects(lun(f, '/vol/resvol/l2', 150 * MiB, true), (e) => e instanceof OntapApiError && /Not enough space in volume "resvol"/.test(e.message));
  });

  it('a reserved LUN with fractional reserve 100 costs 2x LUN + delta after a Snapshot copy (hotfix items 2, 6)', async () => {
    await createVolume(f.client, { name: 'fr100', size: 400 * MiB, ...thick });
    await lun(f, '/vol/fr100/l', 50 * MiB, true);
    await writeLun(f.sim, '/vol/fr100/l', 0, filled(20 * MiB, 1));
    assert.equal((await volumeByName(f.client, 'fr100')).space.used, 50 * MiB);
    await snapshotVolume(f.client, 'fr100', 'hourly.0');
    assert.equal((await volumeByName(f.client, 'fr100')).space.used, 70 * MiB, '5 GB LUN + 2 GB written -> 7 GB, scaled');
    await writeLun(f.sim, '/vol/fr100/l', 20 * MiB, filled(30 * MiB, 2));
    await snapshotVolume(f.client, 'fr100', 'hourly.1');
    assert.equal((await volumeByName(f.client, 'fr100')).space.used, 100 * MiB, 'fully written reserved LUN: 2x after a Snapshot copy');
    // The same data in a thin volume: Snapshot copies cost nothing until data is overwritten.
    await createVolume(f.client, { name: 'fr0', size: 400 * MiB, ...thin });
    await lun(f, '/vol/fr0/l', 50 * MiB, false);
    await writeLun(f.sim, '/vol/fr0/l', 0, filled(50 * MiB, 3));
    const a0 = await aggregateUsed(f.client);
    for (let i = 0; i < 5; i++) await snapshotVolume(f.client, 'fr0', `s${i}`);
    assert.equal((await volumeByName(f.client, 'fr0')).space.used, 50 * MiB);
    assert.equal(await aggregateUsed(f.client), a0);
    await writeLun(f.sim, '/vol/fr0/l', 0, filled(MiB, 4));
    assert.equal(await aggregateUsed(f.client), a0 + MiB);
    assert.equal((await volumeByName(f.client, 'fr0')).space.snapshot.used, MiB);
  });

  it('Snapshot creation does not autogrow: with fractional reserve 100 a full volume refuses it', async () => {
    await createVolume(f.client, { name: 'snapfull', size: 100 * MiB, ...thick, autosize: { mode: 'grow', maximum: 1 * GiB } });
    await lun(f, '/vol/snapfull/l', 60 * MiB, true);
    await writeLun(f.sim, '/vol/snapfull/l', 0, filled(60 * MiB, 5));
    await assert.rejects(snapshotVolume(f.client, 'snapfull', 's'), (e) => e instanceof OntapApiError && /overwrite reserve/.test(e.message));
    assert.equal((await volumeByName(f.client, 'snapfull')).size, 100 * MiB);
  });

  it('the snapshot reserve takes its share of the volume; Snapshot data beyond it spills', async () => {
    await createVolume(f.client, { name: 'sr20', size: 100 * MiB, guarantee: { type: 'none' }, space: { snapshot: { reserve_percent: 20 }, fractional_reserve: 0 } });
    await assert.rejects(lun(f, '/vol/sr20/big', 90 * MiB, false), (e) => e instanceof OntapApiError && /too large/.test(e.message));
    await lun(f, '/vol/sr20/l', 80 * MiB, false);
    await writeLun(f.sim, '/vol/sr20/l', 0, filled(40 * MiB, 6));
    await snapshotVolume(f.client, 'sr20', 's');
    await writeLun(f.sim, '/vol/sr20/l', 0, filled(30 * MiB, 7));
    const v = await volumeByName(f.client, 'sr20');
    assert.equal(v.space.snapshot.used, 30 * MiB);
    assert.equal(v.space.used, 40 * MiB + 10 * MiB, 'active 40 MiB + 10 MiB spilled past the 20 MiB reserve');
  });

  it('autosize grows a full thin volume up to its maximum, then writes fail with no space', async () => {
    await createVolume(f.client, { name: 'auto', size: 40 * MiB, ...thin, autosize: { mode: 'grow', maximum: 60 * MiB } });
    await lun(f, '/vol/auto/l', 40 * MiB, false);
    await writeLun(f.sim, '/vol/auto/l', 0, filled(40 * MiB, 8));
    await snapshotVolume(f.client, 'auto', 's');
    await writeLun(f.sim, '/vol/auto/l', 0, filled(15 * MiB, 9));
    const grown = await volumeByName(f.client, 'auto');
    assert.ok(grown.size > 40 * MiB && grown.size <= 60 * MiB, `grew to ${grown.size}`);
    await assert.rejects(writeLun(f.sim, '/vol/auto/l', 15 * MiB, filled(10 * MiB, 10)), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC' && /autosize reached its maximum/.test(e.message));
    assert.ok((await volumeByName(f.client, 'auto')).size <= 60 * MiB);
  });

  it('an exhausted aggregate refuses writes to thin volumes and keeps what was there', async () => {
    await f.client.post('/api/storage/volumes', { name: 'over', svm: { name: 'svm0' }, aggregates: [{ name: 'aggr_small' }], size: 400 * MiB, ...thin });
    await lun(f, '/vol/over/l', 300 * MiB, false);
    await writeLun(f.sim, '/vol/over/l', 0, filled(60 * MiB, 11));
    await assert.rejects(writeLun(f.sim, '/vol/over/l', 60 * MiB, filled(8 * MiB, 12)), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC' && /aggregate "aggr_small" is full/.test(e.message));
    assert.equal((await lunByPath(f.client, '/vol/over/l')).space.used, 60 * MiB);
  });

  it('a FlexClone LUN shares blocks, inherits the reservation unless told, and must stay in its volume', async () => {
    await createVolume(f.client, { name: 'fc', size: 400 * MiB, ...thick });
    await lun(f, '/vol/fc/src', 50 * MiB, true);
    await writeLun(f.sim, '/vol/fc/src', 0, filled(10 * MiB, 13));
    const before = await aggregateUsed(f.client);
    await f.client.post('/api/storage/luns', { svm: { name: 'svm0' }, name: '/vol/fc/inherit', clone: { source: { name: '/vol/fc/src' } } });
    assert.deepEqual((await lunByPath(f.client, '/vol/fc/inherit')).space.guarantee, { requested: true, reserved: true }, 'a clone is reserved like its source (hotfix items 8, 9)');
    await f.client.post('/api/storage/luns', { svm: { name: 'svm0' }, name: '/vol/fc/thin', clone: { source: { name: '/vol/fc/src' } }, space: { guarantee: { requested: false } } });
    assert.deepEqual((await lunByPath(f.client, '/vol/fc/thin')).space.guarantee, { requested: false, reserved: false });
    assert.equal(await aggregateUsed(f.client), before, 'guaranteed volume: footprint stays its size');
    assert.equal((await volumeByName(f.client, 'fc')).space.used, 10 * MiB + 40 * MiB + 40 * MiB, 'active data + two unwritten reservations');
    await assert.rejects(
      f.client.post('/api/storage/luns', { svm: { name: 'svm0' }, name: '/vol/fr0/x', clone: { source: { name: '/vol/fc/src' } } }),
      (e) => e instanceof OntapApiError && /same volume/.test(e.message),
    );
    await assert.rejects(
      f.client.post('/api/storage/luns', { svm: { name: 'svm0' }, name: '/vol/fc/y', os_type: 'xen', clone: { source: { name: '/vol/fc/src' } } }),
      (e) => e instanceof OntapApiError && e.status === 400,
    );
  });

  it('a Snapshot copy backing a FlexClone volume is busy until the clone is split; others are never deleted with it (hotfix item 4)', async () => {
    await createVolume(f.client, { name: 'par', size: 100 * MiB, ...thin });
    await lun(f, '/vol/par/l', 20 * MiB, false);
    await writeLun(f.sim, '/vol/par/l', 0, filled(MiB, 14));
    for (const s of ['a', 'b', 'c']) await snapshotVolume(f.client, 'par', s);
    await f.client.post('/api/storage/volumes', { name: 'child', svm: { name: 'svm0' }, clone: { is_flexclone: true, parent_volume: { name: 'par' }, parent_snapshot: { name: 'b' } }, guarantee: { type: 'none' } });
    const par = await volumeByName(f.client, 'par');
    const snaps = await f.client.list<{ uuid: string; name: string; owners: string[] }>(`/api/storage/volumes/${par.uuid}/snapshots`, { fields: 'name,owners' });
    const b = snaps.find((s) => s.name === 'b')!;
    assert.deepEqual(b.owners, ['volume_clone']);
    await assert.rejects(f.client.delete(`/api/storage/volumes/${par.uuid}/snapshots/${b.uuid}`), (e) => e instanceof OntapApiError && e.code === '1638555');
    await f.client.delete(`/api/storage/volumes/${par.uuid}/snapshots/${snaps.find((s) => s.name === 'a')!.uuid}`);
    const left = await f.client.list<{ name: string }>(`/api/storage/volumes/${par.uuid}/snapshots`);
    assert.deepEqual(left.map((s) => s.name).sort(), ['b', 'c']);
    const child = await volumeByName(f.client, 'child');
    await f.client.patch(`/api/storage/volumes/${child.uuid}`, { clone: { split_initiated: true } });
    await f.client.delete(`/api/storage/volumes/${par.uuid}/snapshots/${b.uuid}`);
    assert.ok((await lunByPath(f.client, '/vol/child/l')).serial_number.length === 12);
  });

  it('igroups are the target\'s ACLs; a mapped LUN is not deleted without allow_delete_while_mapped', async () => {
    await createVolume(f.client, { name: 'san', size: 100 * MiB, ...thin });
    await lun(f, '/vol/san/l', 10 * MiB, false);
    await assert.rejects(
      f.client.post('/api/protocols/san/igroups', { svm: { name: 'svm0' }, name: 'h1', protocol: 'iscsi', os_type: 'xen', initiators: [{ name: 'not-an-iqn' }] }),
      (e) => e instanceof OntapApiError && e.code === '5374039',
    );
    await f.client.post('/api/protocols/san/igroups', { svm: { name: 'svm0' }, name: 'h1', protocol: 'iscsi', os_type: 'xen', initiators: [{ name: 'iqn.2026-01.org.islet:host1' }] });
    await f.client.post('/api/protocols/san/lun-maps', { svm: { name: 'svm0' }, lun: { name: '/vol/san/l' }, igroup: { name: 'h1' } });
    const exp = sanExport(f.sim.array);
    const n = exp.acl.get('iqn.2026-01.org.islet:host1')!;
    assert.equal(n.length, 1);
    assert.equal(exp.luns.get(n[0]!)!.lun.name, 'l');
    assert.equal(exp.acl.has('iqn.2026-01.org.islet:host2'), false);
    const l = await lunByPath(f.client, '/vol/san/l');
    await assert.rejects(f.client.delete(`/api/storage/luns/${l.uuid}`), (e) => e instanceof OntapApiError && e.code === '1254197');
    const [g] = await f.client.list<{ uuid: string }>('/api/protocols/san/igroups', { name: 'h1' });
    await f.client.delete(`/api/protocols/san/lun-maps/${l.uuid}/${g!.uuid}`);
    assert.equal(sanExport(f.sim.array).acl.size, 0);
    await f.client.delete(`/api/storage/luns/${l.uuid}`);
  });

  it('filters collections on dotted fields with wildcards and alternatives', async () => {
    const names = (await f.client.list<{ name: string }>('/api/storage/volumes', { name: 'fr*' })).map((v) => v.name).sort();
    assert.deepEqual(names, ['fr0', 'fr100']);
    assert.equal((await f.client.list('/api/storage/volumes', { name: 'fr0|fc', 'guarantee.type': 'none' })).length, 1);
    assert.equal((await f.client.list('/api/storage/luns', { 'location.volume.name': 'fc' })).length, 3);
  });
});

describe('ONTAP simulator persistence', () => {
  it('a restarted simulator is the same array with the same data', async () => {
    const f = await startSim();
    await createVolume(f.client, { name: 'keep', size: 100 * MiB, ...thin });
    await lun(f, '/vol/keep/l', 10 * MiB, false);
    await writeLun(f.sim, '/vol/keep/l', 4096, filled(MiB, 15));
    const before = await lunByPath(f.client, '/vol/keep/l');
    const node = f.sim.array.state.node.systemId;
    await f.stop({ keepDir: true });
    const g = await startSim({ dir: f.dir });
    try {
      assert.equal(g.sim.array.state.node.systemId, node);
      const after = await lunByPath(g.client, '/vol/keep/l');
      assert.equal(after.serial_number, before.serial_number);
      assert.equal(after.space.used, before.space.used);
      const l = g.sim.array.state.luns[0]!;
      assert.ok((await g.sim.array.store.read(l.storeId, 4096, MiB)).equals(filled(MiB, 15)));
    } finally {
      await g.stop();
    }
  });
});

describe('islet sim ontap', () => {
  it('prints ready https://ADDR:PORT then the certificate fingerprint, and serves the REST API', async () => {
    const p = await startOntapSimProcess({ aggregates: ['aggr1:10G', 'aggr2:1T'] });
    try {
      const c = new OntapRestClient({ host: p.host, port: p.port, username: p.username, password: p.password, fingerprint: p.fingerprint });
      const aggrs = await c.list<{ name: string; space: { block_storage: { size: number } } }>('/api/storage/aggregates');
      assert.deepEqual(aggrs.map((x) => [x.name, x.space.block_storage.size]), [['aggr1', 10 * GiB], ['aggr2', TiB]]);
      c.close();
    } finally {
      await p.stop();
    }
  });

  it('without --data-dir keeps its array in a directory of its own under TMPDIR and removes it when stopped', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ontap-tmp-check-'));
    try {
      const p = await startOntapSimProcess({ aggregates: ['aggr1:10G'], iscsi: true, tmpDir: tmp });
      try {
        const made = readdirSync(tmp);
        assert.equal(made.length, 1, `one directory while it runs: ${made.join(', ')}`);
        assert.match(made[0]!, /^islet-ontap-/);
        assert.ok(readdirSync(join(tmp, made[0]!)).length > 0, 'the array keeps its data there');
      } finally {
        await p.stop();
      }
      assert.equal(p.child.signalCode, null, 'it stopped on SIGTERM by itself, not killed');
      assert.deepEqual(readdirSync(tmp), [], 'nothing is left once it has stopped');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('an ONTAP simulator start that fails part-way', () => {
  it('closes the iSCSI target and array it had opened (REST port taken)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ontap-failstart-'));
    try {
      await assertFailedStartLeavesNothing((port) => startOntapSim({
        listen: { host: '127.0.0.1', port }, iscsi: { host: '127.0.0.1', port: 0 }, makeTarget: makeNetappTarget,
        username: 'admin', password: 'netapp1!', aggregates: [{ name: 'aggr1', size: GiB }], dataDir: dir,
      }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
