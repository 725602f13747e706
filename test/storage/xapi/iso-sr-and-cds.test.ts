/**
 * ISO SRs and CD drives through `bin/xe` and the XenAPI against a real server: an `iso` SR
 * over a temporary directory holding two small `.iso` files the test writes (arbitrary
 * bytes: an ISO's content is opaque to the SR, so no ISO-making tool is needed), read-only
 * VDIs found by scan with uuids that hold across rescans and a server restart, a file added
 * or removed found or forgotten by `sr-scan`, VDI.create refused, `vm-install` giving an
 * empty CD drive at slot 3, `cd-list`, `vm-cd-insert/eject/add/remove/list`, `vm-disk-list`,
 * VBD.insert/eject's errors, and `GET /export_raw_vdi` of an ISO VDI equal to the file.
 * Needs a built tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../../src/client/xapi-client.js';
import { XapiCallError } from '../../../src/client/xapi-call-error.js';
import { type IsletProcess, startIslet } from '../../helpers/islet-server.js';
import { xeOn } from '../../helpers/xe.js';

type Rec = Record<string, any>;
const PW = 'iso-pw';
const NULL = 'OpaqueRef:NULL';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('ISO SRs and CD drives', () => {
  let islet: IsletProcess;
  let api: XapiClient;
  let work: string;
  let home: string;
  let isoDir: string;
  const media = { 'install-a.iso': randomBytes(300 * 1024 + 17), 'install-b.iso': randomBytes(64 * 1024) };
  let srUuid = '';
  let srRef = '';

  const xe = xeOn(() => ({ port: islet.port, password: PW, home }));
  const xeOk = xe.ok;
  const login = async () => {
    api = new XapiClient({ url: islet.url });
    await api.login('root', PW);
  };
  /** The SR's VDIs by name. */
  const isoVdis = async (): Promise<Map<string, Rec>> => {
    const all = (await api.call('VDI.get_all_records')) as Record<string, Rec>;
    return new Map(Object.entries(all).filter(([, r]) => r.SR === srRef).map(([ref, r]) => [String(r.name_label), { ...r, ref }]));
  };
  const rejectsWith = (p: Promise<unknown>, code: string) =>
    assert.rejects(p, (e: unknown) => e instanceof XapiCallError && e.code === code);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'iso-sr-'));
    home = await mkdtemp(join(work, 'home-'));
    isoDir = join(work, 'isos');
    await mkdir(isoDir);
    for (const [name, bytes] of Object.entries(media)) await writeFile(join(isoDir, name), bytes);
    await writeFile(join(isoDir, 'notes.txt'), 'not install media');
    islet = await startIslet({ rootPassword: PW });
    await login();
  });
  after(async () => {
    await api?.logout().catch(() => undefined);
    api?.close();
    await islet?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('sr-create type=iso over a directory finds its .iso files as read-only VDIs', async () => {
    srUuid = await xeOk('sr-create', 'type=iso', 'name-label=ISOs', `device-config:location=${isoDir}`, 'content-type=iso');
    srRef = String(await api.call('SR.get_by_uuid', srUuid));
    const sr = (await api.call('SR.get_record', srRef)) as Rec;
    assert.equal(sr.type, 'iso');
    assert.equal(sr.content_type, 'iso');
    const vdis = await isoVdis();
    assert.deepEqual([...vdis.keys()].sort(), ['install-a.iso', 'install-b.iso']);
    for (const [name, r] of vdis) {
      assert.equal(r.read_only, true);
      assert.equal(Number(r.virtual_size), media[name as keyof typeof media].length);
      assert.equal(r.location, name);
    }
    const cds = await xeOk('cd-list', '--minimal');
    assert.deepEqual(cds.split(',').sort(), [...vdis.values()].map((r) => r.uuid).sort());
    const listed = await xeOk('cd-list');
    assert.match(listed, /name-label \( RW\): install-a\.iso/);
  });

  it('sr-create shared=true plugs the ISO SR on every host', async () => {
    const dir = join(work, 'shared-isos');
    await mkdir(dir);
    await writeFile(join(dir, 'tools.iso'), randomBytes(2048));
    const uuid = await xeOk('sr-create', 'type=iso', 'name-label=Shared ISOs', `device-config:location=${dir}`, 'content-type=iso', 'shared=true');
    const ref = String(await api.call('SR.get_by_uuid', uuid));
    assert.equal(await api.call('SR.get_shared', ref), true);
    const hosts = (await api.call('host.get_all')) as string[];
    const pbds = (await api.call('SR.get_PBDs', ref)) as string[];
    assert.equal(pbds.length, hosts.length);
    for (const p of pbds) assert.equal(await api.call('PBD.get_currently_attached', p), true);
    const names = await Promise.all(((await api.call('SR.get_VDIs', ref)) as string[]).map((v) => api.call('VDI.get_name_label', v)));
    assert.deepEqual(names, ['tools.iso']);
    for (const p of pbds) await xeOk('pbd-unplug', `uuid=${String(await api.call('PBD.get_uuid', p))}`);
    // An ISO library is forgotten (it holds disks, so SR.destroy refuses it); the media stay.
    await xeOk('sr-forget', `uuid=${uuid}`);
    assert.equal((await import('node:fs/promises').then((m) => m.readdir(dir))).length, 1);
  });

  it('a directory that is a system location or missing is refused', async () => {
    const r1 = await xe('sr-create', 'type=iso', 'name-label=bad', 'device-config:location=/etc', 'content-type=iso');
    assert.notEqual(r1.code, 0);
    assert.match(r1.out + r1.err, /system location/);
    const r2 = await xe('sr-create', 'type=iso', 'name-label=bad', `device-config:location=${join(work, 'nope')}`, 'content-type=iso');
    assert.notEqual(r2.code, 0);
    assert.match(r2.out + r2.err, /not an existing directory/);
  });

  it('VDI.create on an ISO SR is refused as XenServer refuses it', async () => {
    await rejectsWith(api.call('VDI.create', {
      SR: srRef, virtual_size: 1024 * 1024, name_label: 'x', name_description: '', type: 'user', sharable: false, read_only: false,
      other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
    }), 'SR_OPERATION_NOT_SUPPORTED');
    const r = await xe('vdi-create', `sr-uuid=${srUuid}`, 'name-label=x', 'virtual-size=1MiB');
    assert.notEqual(r.code, 0);
    assert.equal((await isoVdis()).size, 2);
  });

  it('sr-scan keeps uuids, finds a file added and forgets a file removed', async () => {
    const before1 = new Map([...(await isoVdis())].map(([n, r]) => [n, r.uuid]));
    await xeOk('sr-scan', `uuid=${srUuid}`);
    assert.deepEqual(new Map([...(await isoVdis())].map(([n, r]) => [n, r.uuid])), before1);
    await writeFile(join(isoDir, 'added.iso'), randomBytes(4096));
    await xeOk('sr-scan', `uuid=${srUuid}`);
    const withAdded = await isoVdis();
    assert.deepEqual([...withAdded.keys()].sort(), ['added.iso', 'install-a.iso', 'install-b.iso']);
    for (const [n, u] of before1) assert.equal(withAdded.get(n)!.uuid, u);
    await unlink(join(isoDir, 'added.iso'));
    await xeOk('sr-scan', `uuid=${srUuid}`);
    assert.deepEqual([...(await isoVdis()).keys()].sort(), ['install-a.iso', 'install-b.iso']);
  });

  it('GET /export_raw_vdi of an ISO VDI is the file', async () => {
    for (const [name, r] of await isoVdis()) {
      const chunks: Buffer[] = [];
      for await (const c of (await api.getFile('/export_raw_vdi', { vdi: r.ref, format: 'raw' })) as AsyncIterable<Buffer>) chunks.push(c);
      assert.equal(sha(Buffer.concat(chunks)), sha(media[name as keyof typeof media]), name);
    }
  });

  it('vm-install gives the VM an empty CD drive at slot 3; cd insert/eject round trip with xapi errors', async () => {
    const vmUuid = await xeOk('vm-install', 'template=Other install media', 'new-name-label=with-cd');
    const vm = String(await api.call('VM.get_by_uuid', vmUuid));
    const vbds = await Promise.all(((await api.call('VM.get_VBDs', vm)) as string[]).map(async (v): Promise<Rec> => ({ ref: v, ...((await api.call('VBD.get_record', v)) as Rec) })));
    const cds = vbds.filter((v) => v.type === 'CD');
    assert.equal(cds.length, 1);
    const cd = cds[0]!;
    assert.equal(cd.userdevice, '3');
    assert.equal(cd.empty, true);
    assert.equal(cd.VDI, NULL);
    assert.equal(cd.mode, 'RO');
    const disk = vbds.find((v) => v.type === 'Disk')!;
    const a = (await isoVdis()).get('install-a.iso')!;
    const b = (await isoVdis()).get('install-b.iso')!;

    await rejectsWith(api.call('VBD.eject', cd.ref), 'VBD_IS_EMPTY');
    await rejectsWith(api.call('VBD.insert', disk.ref, a.ref), 'VBD_NOT_REMOVABLE_MEDIA');
    await xeOk('vm-cd-insert', `uuid=${vmUuid}`, 'cd-name=install-a.iso');
    assert.equal(await api.call('VBD.get_VDI', cd.ref), a.ref);
    assert.equal(await api.call('VBD.get_empty', cd.ref), false);
    await rejectsWith(api.call('VBD.insert', cd.ref, b.ref), 'VBD_NOT_EMPTY');
    const r = await xe('vm-cd-insert', `uuid=${vmUuid}`, 'cd-name=install-b.iso');
    assert.notEqual(r.code, 0);
    const cdList = await xeOk('vm-cd-list', `uuid=${vmUuid}`);
    assert.match(cdList, /^CD 0 VBD:/m);
    assert.match(cdList, /^CD 0 VDI:/m);
    assert.ok(cdList.includes(a.uuid));
    await xeOk('vm-cd-eject', `uuid=${vmUuid}`);
    assert.equal(await api.call('VBD.get_empty', cd.ref), true);
    assert.equal(await api.call('VBD.get_VDI', cd.ref), NULL);
    const again = await xe('vm-cd-eject', `uuid=${vmUuid}`);
    assert.notEqual(again.code, 0);
    assert.match(again.out + again.err, /VBD_IS_EMPTY|empty/i);

    // A second drive with a disc, then removed by the disc's name.
    await xeOk('vm-cd-add', `uuid=${vmUuid}`, 'cd-name=install-b.iso', 'device=4');
    const withB = ((await api.call('VDI.get_VBDs', b.ref)) as string[]);
    assert.equal(withB.length, 1);
    assert.equal(await api.call('VBD.get_userdevice', withB[0]), '4');
    assert.equal(await api.call('VBD.get_mode', withB[0]), 'RO');
    await xeOk('vm-cd-remove', `uuid=${vmUuid}`, 'cd-name=install-b.iso');
    assert.deepEqual(await api.call('VDI.get_VBDs', b.ref), []);
    const gone = await xe('vm-cd-remove', `uuid=${vmUuid}`, 'cd-name=install-b.iso');
    assert.notEqual(gone.code, 0);

    const diskList = await xeOk('vm-disk-list', `uuid=${vmUuid}`);
    assert.match(diskList, /^Disk 0 VBD:/m);
    assert.match(diskList, /^Disk 0 VDI:/m);
    assert.match(diskList, /virtual-size \( RO\): \d+/);
    assert.ok(!diskList.includes('CD 0'));
    const [network] = (await api.call('network.get_all')) as string[];
    await api.call('VIF.create', {
      device: '0', network, VM: vm, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {},
    });
    const vifList = await xeOk('vm-vif-list', `uuid=${vmUuid}`);
    assert.match(vifList, /vm-name-label \( RO\): with-cd/);
    assert.match(vifList, /MAC \( RO\): [0-9a-f]{2}(:[0-9a-f]{2}){5}/);
    assert.match(vifList, new RegExp(`network-name-label \\( RO\\): ${String(await api.call('network.get_name_label', network))}`));
  });

  it('VDI uuids survive a server restart', async () => {
    const before1 = new Map([...(await isoVdis())].map(([n, r]) => [n, r.uuid]));
    await api.logout().catch(() => undefined);
    api.close();
    await islet.kill9();
    islet = await islet.restart();
    await login();
    await xeOk('sr-scan', `uuid=${srUuid}`);
    assert.deepEqual(new Map([...(await isoVdis())].map(([n, r]) => [n, r.uuid])), before1);
  });
});
