/**
 * Crash recovery of imports through a real `bin/islet server` process: an XVA import (a VM
 * with a 40 MiB disk of random data and a NIC) is cut by SIGKILL of the toolstack at named
 * points (`ISLET_CRASH_AT`: just after ova.xml was read and the records made, after the
 * third 8 MiB piece of disk data, after the last data and before the import takes its marks
 * off) and by a `kill -9` from outside while the disk data streams in; the server is started
 * again on the same data directory. Then nothing of the import is left (no VM, VDI, VBD,
 * VIF, network or `.vhd` file), the SR's space figures are those of before (without a scan),
 * and the import's task reads `failure` with `IMPORT_ERROR`. An import that finished is kept
 * across a crash. `PUT /import_raw_vdi?sr_id=` (which makes its disk) killed mid-body leaves
 * no disk either; into an existing disk (`vdi=`), it leaves every 4 KiB page the old or the
 * new content, a VHD file libvhdi reads the same, and figures a scan does not change.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import http from 'node:http';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { XapiClient } from '../../src/client/xapi-client.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { pyvhdiDump } from '../storage/vhd/vhd-helpers.js';
import { MiB, exportDigest, importImage, sha256, vmWithDisk } from '../storage/acceptance/storage-fixture.js';

const PW = 'crash-import-pw';
type Rec = Record<string, any>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('imports cut by a toolstack crash are rolled back at the next start', { timeout: 600_000 }, () => {
  let dataDir: string;
  let scratch: string;
  let port: number | undefined;
  let islet: IsletProcess | undefined;
  let api: XapiClient;
  let sr: string;
  let xva: string;
  let diskSha: string;

  async function start(crashAt = ''): Promise<void> {
    islet = await startIslet({ rootPassword: PW, dataDir, port, ownsDataDir: false, env: { ISLET_CRASH_AT: crashAt } });
    port = islet.port;
    api = new XapiClient({ url: islet.url });
    await api.login('root', PW);
  }

  async function srPath(): Promise<string> {
    const pbd = ((await api.call('SR.get_PBDs', sr)) as string[])[0]!;
    return ((await api.call('PBD.get_device_config', pbd)) as Record<string, string>).path!;
  }
  const vhdFiles = async (path: string) => (await readdir(path)).filter((n) => n.endsWith('.vhd')).sort();

  /** Everything an unfinished import could leave: records, files and the SR's figures. */
  async function state(): Promise<Rec> {
    const count = async (cls: string) => ((await api.call(`${cls}.get_all`)) as string[]).length;
    const srRec = (await api.call('SR.get_record', sr)) as Rec;
    return {
      VM: await count('VM'), VDI: await count('VDI'), VBD: await count('VBD'), VIF: await count('VIF'), network: await count('network'),
      files: await vhdFiles(await srPath()),
      physical_utilisation: srRec.physical_utilisation, virtual_allocation: srRec.virtual_allocation,
    };
  }

  /** PUTs `bytes` (or the first `fraction` of them) to `path`, ignoring how the connection ends. */
  function put(path: string, query: Record<string, string>, body: { file: string } | { bytes: Buffer; fraction: number }, length: number): void {
    const req = http.request(api.fileUrl(path, query), { method: 'PUT', headers: { 'content-length': length } });
    req.on('error', () => undefined);
    req.on('response', (r) => r.resume());
    if ('file' in body) createReadStream(body.file).on('error', () => undefined).pipe(req);
    else req.write(body.bytes.subarray(0, Math.floor(body.bytes.length * body.fraction)));
  }

  async function exited(p: IsletProcess, what: string): Promise<void> {
    for (let i = 0; p.child.exitCode === null && p.child.signalCode === null; i++) {
      assert.ok(i < 600, `the server did not die ${what} within 60 s:\n${p.stderr().slice(-2000)}`);
      await sleep(100);
    }
    assert.equal(p.child.signalCode, 'SIGKILL', `the server ended by ${p.child.signalCode ?? `exit ${p.child.exitCode}`}, not SIGKILL ${what}`);
  }

  async function waitProgress(task: string, what: string): Promise<void> {
    for (let i = 0; Number(await api.call('task.get_progress', task)) <= 0.2; i++) {
      assert.ok(i < 600, `${what} never got into the disk data`);
      await sleep(50);
    }
  }

  /** After the restart: as before, no marks on any record, the task failed with IMPORT_ERROR. */
  async function checkRolledBack(before: Rec, task: string, what: string): Promise<void> {
    await start();
    assert.deepEqual(await state(), before, `${what}: records, .vhd files and SR figures are back to before`);
    for (const cls of ['VM', 'VDI']) {
      for (const [, r] of Object.entries((await api.call(`${cls}.get_all_records`)) as Record<string, Rec>)) {
        assert.ok(!Object.keys(r.other_config).some((k) => k.startsWith('islet_import')), `${what}: a ${cls} still carries an import mark`);
      }
    }
    assert.equal(await api.call('task.get_status', task), 'failure', `${what}: the task`);
    assert.equal(((await api.call('task.get_error_info', task)) as string[])[0], 'IMPORT_ERROR', `${what}: the task's error`);
    await api.call('task.destroy', task);
  }

  before(async () => {
    dataDir = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), 'islet-import-crash-'));
    scratch = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), 'islet-import-crash-files-'));
    await start();
    const [pool] = (await api.call('pool.get_all')) as string[];
    sr = String(await api.call('pool.get_default_SR', pool));
    const { vm, vdi } = await vmWithDisk(api, sr, 'crash-source', 40 * MiB);
    const image = randomBytes(40 * MiB);
    await importImage(api, vdi, image);
    diskSha = sha256(image);
    const [net] = (await api.call('network.get_all')) as string[];
    await api.call('VIF.create', { VM: vm, network: net, device: '0', MAC: '', MTU: '1500', other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} });
    xva = join(scratch, 'source.xva');
    await pipeline(await api.getFile('/export', { uuid: String(await api.call('VM.get_uuid', vm)) }), createWriteStream(xva));
  });

  after(async () => {
    await islet?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  });

  for (const point of ['xva-import.records-made:1', 'xva-import.piece-written:3', 'xva-import.data-written:1']) {
    it(`an XVA import killed at ${point} leaves nothing after the restart`, async () => {
      await islet!.stop();
      await start(point);
      const before = await state();
      const path = await srPath();
      const task = String(await api.call('task.create', 'crash import', ''));
      put('/import', { task_id: task, sr_id: sr }, { file: xva }, (await readFile(xva)).length);
      await exited(islet!, `at ${point}`);
      const left = await vhdFiles(path);
      assert.ok(left.length > before.files.length, `the crash at ${point} left the import's disk file (${left.length} files, ${before.files.length} before)`);
      await checkRolledBack(before, task, point);
    });
  }

  it('an XVA import killed from outside (kill -9) while its disk streams in leaves nothing after the restart', async () => {
    const before = await state();
    const bytes = await readFile(xva);
    const task = String(await api.call('task.create', 'crash import', ''));
    put('/import', { task_id: task, sr_id: sr }, { bytes, fraction: 0.6 }, bytes.length);
    await waitProgress(task, 'the XVA import');
    await islet!.kill9();
    await checkRolledBack(before, task, 'kill -9 mid-disk');
  });

  it('a finished XVA import is kept across a crash: the VM, its NIC and a byte-identical disk, with no marks', async () => {
    const task = String(await api.call('task.create', 'import', ''));
    await api.putFile('/import', { task_id: task, sr_id: sr }, { path: xva });
    const vm = String(await api.waitTask(task));
    await islet!.kill9();
    await start();
    const rec = (await api.call('VM.get_record', vm)) as Rec;
    assert.equal(rec.name_label, 'crash-source');
    assert.equal(rec.VIFs.length, 1);
    assert.deepEqual(Object.keys(rec.other_config).filter((k) => k.startsWith('islet_import')), []);
    const disk = ((await Promise.all((rec.VBDs as string[]).map(async (v) => (await api.call('VBD.get_record', v)) as Rec))).find((v) => v.type === 'Disk'))!;
    assert.equal((await exportDigest(api, String(disk.VDI))).sha, diskSha);
    assert.equal(await api.call('task.get_status', task).catch(() => 'gone'), 'gone', 'a finished task is not brought back');
  });

  it('PUT /import_raw_vdi?sr_id= (which makes its disk) killed mid-body leaves no disk after the restart', async () => {
    const before = await state();
    const bytes = randomBytes(40 * MiB);
    const task = String(await api.call('task.create', 'crash raw import', ''));
    put('/import_raw_vdi', { task_id: task, sr_id: sr }, { bytes, fraction: 0.6 }, bytes.length);
    await waitProgress(task, 'the raw import');
    await islet!.kill9();
    await checkRolledBack(before, task, 'raw import kill -9 mid-body');
  });

  it('PUT /import_raw_vdi?vdi= killed mid-body leaves the disk readable, every 4 KiB page old or new content, its VHD sound and its figures true', async () => {
    const { vdi } = await vmWithDisk(api, sr, 'raw-target', 24 * MiB);
    const old = randomBytes(24 * MiB);
    await importImage(api, vdi, old);
    const bytes = randomBytes(24 * MiB);
    const task = String(await api.call('task.create', 'crash raw import', ''));
    const uuid = String(await api.call('VDI.get_uuid', vdi));
    const file = join(await srPath(), `${uuid}.vhd`);
    put('/import_raw_vdi', { task_id: task, vdi }, { bytes, fraction: 0.6 }, bytes.length);
    await waitProgress(task, 'the raw import');
    await islet!.kill9();
    await start();
    const got = Buffer.alloc(24 * MiB);
    let at = 0;
    for await (const c of (await api.getFile('/export_raw_vdi', { vdi, format: 'raw' })) as AsyncIterable<Buffer>) at += c.copy(got, at);
    assert.equal(at, got.length);
    let fresh = 0;
    for (let p = 0; p < got.length; p += 4096) {
      const page = got.subarray(p, p + 4096);
      const isNew = page.equals(bytes.subarray(p, p + 4096));
      assert.ok(isNew || page.equals(old.subarray(p, p + 4096)), `page at ${p} is neither the old nor the new content`);
      if (isNew) fresh++;
    }
    assert.ok(fresh > 0, 'some new data had reached the disk before the kill');
    // libvhdi, an outside reader, finds the same content in the file.
    const dump = join(scratch, 'raw-target.raw');
    await pyvhdiDump([file], dump);
    assert.ok((await readFile(dump)).equals(got), 'libvhdi reads the VHD file as the server does');
    await rm(dump);
    const recorded = Number(await api.call('VDI.get_physical_utilisation', vdi));
    await api.call('SR.scan', sr);
    assert.equal(recorded, Number(await api.call('VDI.get_physical_utilisation', vdi)), 'the record claims what the file holds, without a scan');
  });
});
