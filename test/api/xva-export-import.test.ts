/**
 * XVA export and import through a real server: `GET /export` read back with `tar`, a round
 * trip to a new VM with a byte-identical disk, names, memory and its NIC kept, metadata-only
 * export, gzip, a corrupted chunk refused with nothing kept, and a tiny XVA this test
 * builds with the `tar` tool from the format's description. An imported disk is read back
 * by libvhdi and qemu-img; an import cut off or cancelled mid-disk leaves nothing. Chunk checksums are checked
 * against outside oracles: `xxhsum -H1` (Debian's xxhash) for `.xxhash` members, node's
 * SHA-1 for `.checksum` members.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { XapiCallError } from '../../src/client/xapi-call-error.js';
import { MiB, chainDigest, diskOf, exportDigest, importImage, sha256, startStorageFixture, vmWithDisk, type StorageFixture } from '../storage/acceptance/storage-fixture.js';

const run = promisify(execFile);
type Rec = Record<string, any>;

/** XXH64 of a file as XenServer writes it in an `.xxhash` member: 16 uppercase hex digits. */
async function xxhsum(file: string): Promise<string> {
  const { stdout } = await run('xxhsum', ['-H1', file]);
  const m = /^([0-9a-f]{16})\s/.exec(stdout);
  assert.ok(m, `xxhsum printed ${stdout}`);
  return m[1]!.toUpperCase();
}

describe('XVA export and import', { timeout: 300_000 }, () => {
  let f: StorageFixture;
  let dir: string;
  let vm: string;
  let vdi: string;
  let diskSha: string;
  let mac: string;

  async function exportTo(file: string, query: Record<string, string>, path = '/export'): Promise<void> {
    const task = String(await f.api.call('task.create', 'test export', ''));
    try {
      await pipeline(await f.api.getFile(path, { ...query, task_id: task }), createWriteStream(file));
      await f.api.waitTask(task);
    } finally {
      await f.api.call('task.destroy', task).catch(() => undefined);
    }
  }

  async function importFrom(file: string, query: Record<string, string> = {}, path = '/import'): Promise<string> {
    const task = String(await f.api.call('task.create', 'test import', ''));
    try {
      await f.api.putFile(path, { ...query, task_id: task }, { path: file }).catch(() => undefined);
      return String(await f.api.waitTask(task));
    } finally {
      await f.api.call('task.destroy', task).catch(() => undefined);
    }
  }

  const count = async (cls: string) => ((await f.api.call(`${cls}.get_all`)) as string[]).length;
  const srDir = async () => {
    const pbd = ((await f.api.call('SR.get_PBDs', f.sr)) as string[])[0]!;
    return ((await f.api.call('PBD.get_device_config', pbd)) as Record<string, string>).path!;
  };
  /** What an import leaves behind if it is not atomic: records and files on the SR. */
  const snapshotOfState = async () => ({
    vm: await count('VM'), vdi: await count('VDI'), vbd: await count('VBD'), vif: await count('VIF'),
    files: (await readdir(await srDir())).filter((n) => n.endsWith('.vhd')).sort(),
  });

  /**
   * PUTs the first `fraction` of `file` to /import under a new task (its full length
   * announced), then does `then` (cut the connection, or cancel the task and send the rest);
   * resolves with the task's final status and error.
   */
  async function partialImport(file: string, fraction: number, then: 'cut' | 'cancel'): Promise<{ status: string; error: string[] }> {
    const bytes = await readFile(file);
    const task = String(await f.api.call('task.create', 'test import', ''));
    try {
      const url = f.api.fileUrl('/import', { task_id: task, sr_id: f.sr });
      const req = http.request(url, { method: 'PUT', headers: { 'content-length': bytes.length } });
      req.on('error', () => undefined);
      req.on('response', (r) => r.resume());
      const half = Math.floor(bytes.length * fraction);
      await new Promise<void>((r) => req.write(bytes.subarray(0, half), () => r()));
      // Wait until the server is inside the disk data (the task shows progress).
      for (let i = 0; Number(await f.api.call('task.get_progress', task)) === 0; i++) {
        assert.ok(i < 300, 'the import never started on the disk data');
        await new Promise((r) => setTimeout(r, 100));
      }
      if (then === 'cut') req.destroy();
      else {
        await f.api.call('task.cancel', task);
        req.end(bytes.subarray(half));
      }
      for (let i = 0; ; i++) {
        const status = String(await f.api.call('task.get_status', task));
        if (status !== 'pending' && status !== 'cancelling') {
          return { status, error: (await f.api.call('task.get_error_info', task)) as string[] };
        }
        assert.ok(i < 600, `the import task is still ${status} after 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await f.api.call('task.destroy', task).catch(() => undefined);
    }
  }

  before(async () => {
    f = await startStorageFixture();
    dir = await mkdtemp(join(tmpdir(), 'xva-test-'));
    ({ vm, vdi } = await vmWithDisk(f.api, f.sr, 'xva-source', 8 * MiB));
    // Data in chunks 0, 1 and 5 (partly), zeroes elsewhere.
    const image = Buffer.alloc(6 * MiB);
    randomBytes(2 * MiB).copy(image, 0);
    randomBytes(300_000).copy(image, 5 * MiB + 4096);
    await importImage(f.api, vdi, image);
    await writeFile(join(dir, 'source.raw'), image);
    diskSha = (await exportDigest(f.api, vdi)).sha;
    const [net] = (await f.api.call('network.get_all')) as string[];
    const vif = String(await f.api.call('VIF.create', { VM: vm, network: net, device: '0', MAC: '', MTU: '1500', other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }));
    mac = String(await f.api.call('VIF.get_MAC', vif));
    await f.api.call('VM.set_memory_limits', vm, String(256 * MiB), String(512 * MiB), String(384 * MiB), String(512 * MiB));
    await f.api.call('VM.set_name_description', vm, 'made by the XVA test');
  });
  after(async () => {
    await f?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exports a tar that tar lists: ova.xml first, 1 MiB chunks each with an .xxhash, zero chunks left out but the first and last', async () => {
    const file = join(dir, 'full.xva');
    await exportTo(file, { uuid: String(await f.api.call('VM.get_uuid', vm)) });
    const { stdout } = await run('tar', ['-tvf', file]);
    const lines = stdout.trim().split('\n');
    assert.match(lines[0]!, /\sova\.xml$/);
    const names = lines.slice(1).map((l) => l.split(/\s+/).pop()!);
    const disk = names[0]!.split('/')[0]!;
    assert.match(disk, /^Ref:\d+$/);
    assert.deepEqual(names, ['00000000', '00000001', '00000005', '00000007'].flatMap((n) => [`${disk}/${n}`, `${disk}/${n}.xxhash`]));
    // Each .xxhash member holds the chunk's XXH64 as xxhsum computes it.
    const out = join(dir, 'x');
    await mkdir(out);
    await run('tar', ['-xf', file, '-C', out]);
    for (const n of ['00000000', '00000001', '00000005', '00000007']) {
      const data = await readFile(join(out, disk, n));
      assert.equal(data.length, MiB);
      assert.equal(await readFile(join(out, disk, `${n}.xxhash`), 'utf8'), await xxhsum(join(out, disk, n)));
    }
    const xml = await readFile(join(out, 'ova.xml'), 'utf8');
    assert.match(xml, /<name>class<\/name><value>VM<\/value>/);
    assert.match(xml, /<name>class<\/name><value>VIF<\/value>/);
    assert.match(xml, /xva-source/);
  });

  it('exports SHA-1 .checksum members on request (checksum=sha1), which import back', async () => {
    const file = join(dir, 'sha1.xva');
    await exportTo(file, { uuid: String(await f.api.call('VM.get_uuid', vm)), checksum: 'sha1' });
    const out = join(dir, 'sha1');
    await mkdir(out);
    await run('tar', ['-xf', file, '-C', out]);
    const { stdout } = await run('tar', ['-tf', file]);
    const members = stdout.trim().split('\n').slice(1);
    assert.equal(members.length, 8);
    for (const m of members.filter((x) => !x.includes('.'))) {
      assert.ok(members.includes(`${m}.checksum`), `${m} has a .checksum member`);
      const data = await readFile(join(out, m));
      assert.equal(await readFile(join(out, `${m}.checksum`), 'utf8'), createHash('sha1').update(data).digest('hex'));
    }
    const copy = await importFrom(file, { sr_id: f.sr });
    assert.equal((await exportDigest(f.api, await diskOf(f.api, copy))).sha, diskSha);
  });

  it('imports the export back: a new VM with the same names, memory, NIC and a byte-identical disk', async () => {
    const file = join(dir, 'full.xva');
    const vms = await count('VM');
    const copy = await importFrom(file, { sr_id: f.sr });
    assert.notEqual(copy, vm);
    assert.equal(await count('VM'), vms + 1);
    const r = (await f.api.call('VM.get_record', copy)) as Rec;
    assert.equal(r.name_label, 'xva-source');
    assert.equal(r.name_description, 'made by the XVA test');
    assert.equal(String(r.memory_static_max), String(512 * MiB));
    assert.equal(String(r.memory_dynamic_min), String(384 * MiB));
    assert.equal(r.power_state, 'Halted');
    const newDisk = await diskOf(f.api, copy);
    assert.notEqual(newDisk, vdi);
    assert.equal((await exportDigest(f.api, newDisk)).sha, diskSha);
    // The VHD the import wrote, read by outside oracles: libvhdi and qemu-img.
    assert.deepEqual(await chainDigest(f, newDisk), { sha: diskSha, depth: 1 });
    const raw = join(dir, 'expected-disk.raw');
    const expected = Buffer.alloc(8 * MiB);
    (await readFile(join(dir, 'source.raw'))).copy(expected);
    await writeFile(raw, expected);
    const cmp = await run('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', join(await srDir(), `${String(await f.api.call('VDI.get_uuid', newDisk))}.vhd`), raw]);
    assert.match(cmp.stdout, /Images are identical/);
    const vifs = (await f.api.call('VM.get_VIFs', copy)) as string[];
    assert.equal(vifs.length, 1);
    assert.equal(await f.api.call('VIF.get_MAC', vifs[0]), mac);
  });

  it('exports and imports gzip-compressed (use_compression=true)', async () => {
    const file = join(dir, 'full.xva.gz');
    await exportTo(file, { uuid: String(await f.api.call('VM.get_uuid', vm)), use_compression: 'true' });
    const head = await readFile(file);
    assert.equal(head[0], 0x1f);
    const copy = await importFrom(file, { sr_id: f.sr });
    assert.equal((await exportDigest(f.api, await diskOf(f.api, copy))).sha, diskSha);
  });

  it('exports metadata only: ova.xml alone, which imports onto the existing disk', async () => {
    const file = join(dir, 'meta.xva');
    await exportTo(file, { uuid: String(await f.api.call('VM.get_uuid', vm)), metadata: 'true' });
    const { stdout } = await run('tar', ['-tf', file]);
    assert.deepEqual(stdout.trim().split('\n'), ['ova.xml']);
    const vdis = await count('VDI');
    const copy = await importFrom(file, {}, '/import_metadata');
    assert.equal(await diskOf(f.api, copy), vdi);
    assert.equal(await count('VDI'), vdis);
  });

  it('refuses an XVA whose chunk does not match its checksum, keeping nothing', async () => {
    const bytes = await readFile(join(dir, 'full.xva'));
    const ovaSize = parseInt(bytes.subarray(124, 136).toString('ascii').replace(/\0.*$/, '').trim(), 8);
    const chunkData = 512 + Math.ceil(ovaSize / 512) * 512 + 512;
    bytes[chunkData + 1000] ^= 0xff;
    const bad = join(dir, 'bad.xva');
    await writeFile(bad, bytes);
    const before = { vm: await count('VM'), vdi: await count('VDI'), vbd: await count('VBD'), vif: await count('VIF') };
    await assert.rejects(importFrom(bad, { sr_id: f.sr }), (e: unknown) => e instanceof XapiCallError && e.code === 'IMPORT_ERROR_SOME_CHECKSUMS_FAILED');
    assert.deepEqual({ vm: await count('VM'), vdi: await count('VDI'), vbd: await count('VBD'), vif: await count('VIF') }, before);
  });

  it('refuses a truncated XVA, keeping nothing', async () => {
    const bytes = await readFile(join(dir, 'full.xva'));
    const cut = join(dir, 'cut.xva');
    await writeFile(cut, bytes.subarray(0, bytes.length - 3 * MiB));
    const vms = await count('VM');
    const vdis = await count('VDI');
    await assert.rejects(importFrom(cut, { sr_id: f.sr }), XapiCallError);
    assert.equal(await count('VM'), vms);
    assert.equal(await count('VDI'), vdis);
  });

  it('an import whose connection is cut, or whose task is cancelled, mid-disk keeps nothing: no VM, disk, drive, NIC or VHD file', async () => {
    // A disk large enough that the archive is still streaming when the test acts.
    const { vm: big, vdi: bigDisk } = await vmWithDisk(f.api, f.sr, 'xva-atomic', 48 * MiB);
    await importImage(f.api, bigDisk, randomBytes(48 * MiB));
    const file = join(dir, 'atomic.xva');
    await exportTo(file, { ref: big });
    const before = await snapshotOfState();
    const cut = await partialImport(file, 0.5, 'cut');
    assert.equal(cut.status, 'failure', `a cut import fails (${cut.error.join(' ')})`);
    assert.deepEqual(await snapshotOfState(), before, 'a cut import leaves nothing');
    const cancelled = await partialImport(file, 0.5, 'cancel');
    assert.equal(cancelled.status, 'cancelled', `a cancelled import ends cancelled (${cancelled.error.join(' ')})`);
    assert.equal(cancelled.error[0], 'TASK_CANCELLED');
    assert.deepEqual(await snapshotOfState(), before, 'a cancelled import leaves nothing');
    for (const vbd of (await f.api.call('VM.get_VBDs', big)) as string[]) await f.api.call('VBD.destroy', vbd);
    await f.api.call('VDI.destroy', bigDisk);
    await f.api.call('VM.destroy', big);
  });

  it('xe vm-export and vm-import (zstd) make a VM with the same disk; vm-import prints its uuid', async () => {
    const file = join(dir, 'xe.xva.zst');
    const uuid = String(await f.api.call('VM.get_uuid', vm));
    await f.xeOk('vm-export', `uuid=${uuid}`, `filename=${file}`, 'compress=zstd');
    const head = await readFile(file);
    assert.equal(head.readUInt32LE(0), 0xfd2fb528);
    const srUuid = String(await f.api.call('SR.get_uuid', f.sr));
    const printed = await f.xeOk('vm-import', `filename=${file}`, `sr-uuid=${srUuid}`);
    assert.match(printed, /^[0-9a-f-]{36}$/);
    const copy = String(await f.api.call('VM.get_by_uuid', printed));
    assert.equal((await exportDigest(f.api, await diskOf(f.api, copy))).sha, diskSha);
    const missing = await f.xe('vm-import', `filename=${join(dir, 'no-such.xva')}`);
    assert.notEqual(missing.code, 0);
  });

  it('serves Xen Orchestra\'s calls: GET /export/?ref=&use_compression=zstd, PUT /import/ with an open-ended length', async () => {
    const task = String(await f.api.call('task.create', 'xo export', ''));
    const file = join(dir, 'xo.xva.zst');
    await pipeline(await f.api.getFile('/export/', { ref: vm, use_compression: 'zstd', task_id: task }), createWriteStream(file));
    await f.api.waitTask(task);
    const body = await readFile(file);
    const itask = String(await f.api.call('task.create', 'xo import', ''));
    const url = new URL(f.islet.url);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const q = new URLSearchParams({ sr_id: f.sr, task_id: itask, session_id: f.api.sessionId ?? '' });
      const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: `/import/?${q}`, headers: { 'content-length': String(2 ** 50) } });
      req.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', () => undefined);
      req.write(body, (e) => { if (e) reject(e); else setTimeout(() => req.destroy(), 1000); });
      setTimeout(() => reject(new Error('no answer to the open-ended PUT within 60 s')), 60_000).unref();
    });
    assert.equal(status, 200);
    const copy = String(await f.api.waitTask(itask));
    await f.api.call('task.destroy', itask);
    assert.equal((await exportDigest(f.api, await diskOf(f.api, copy))).sha, diskSha);
  });

  it('exports a VM with its snapshots (export_snapshots=true) and imports them back as snapshots of the new VM', async () => {
    const { vm: src, vdi: disk } = await vmWithDisk(f.api, f.sr, 'xva-snapshots', 4 * MiB);
    const first = randomBytes(3 * MiB);
    await importImage(f.api, disk, first);
    const snap = String(await f.api.call('VM.snapshot', src, 'before the change'));
    const snapDisk = await diskOf(f.api, snap);
    const second = Buffer.concat([randomBytes(MiB), first.subarray(MiB)]);
    await importImage(f.api, disk, second);
    const want = { live: (await exportDigest(f.api, disk)).sha, snap: (await exportDigest(f.api, snapDisk)).sha };
    assert.notEqual(want.live, want.snap);

    const plain = join(dir, 'no-snaps.xva');
    await exportTo(plain, { uuid: String(await f.api.call('VM.get_uuid', src)) });
    assert.equal((await run('tar', ['-tf', plain])).stdout.split('\n').filter((n) => /^Ref:\d+\/\d{8}$/.test(n)).length, 4, 'without asking, one disk of 4 chunks');

    const file = join(dir, 'snaps.xva');
    await exportTo(file, { uuid: String(await f.api.call('VM.get_uuid', src)), export_snapshots: 'true' });
    const copy = await importFrom(file, { sr_id: f.sr });
    const snaps = (await f.api.call('VM.get_snapshots', copy)) as string[];
    assert.equal(snaps.length, 1);
    const s0 = (await f.api.call('VM.get_record', snaps[0])) as Rec;
    assert.equal(s0.is_a_snapshot, true);
    assert.equal(s0.snapshot_of, copy);
    assert.equal(s0.name_label, 'before the change');
    const copyDisk = await diskOf(f.api, copy);
    const copySnapDisk = await diskOf(f.api, snaps[0]!);
    assert.notEqual(copySnapDisk, copyDisk);
    assert.equal(await f.api.call('VDI.get_is_a_snapshot', copySnapDisk), true);
    assert.equal(await f.api.call('VDI.get_snapshot_of', copySnapDisk), copyDisk);
    assert.deepEqual({ live: (await exportDigest(f.api, copyDisk)).sha, snap: (await exportDigest(f.api, copySnapDisk)).sha }, want);
    // The imported snapshot works as one: reverting brings its content back to the new VM.
    await f.api.call('VM.revert', snaps[0]);
    assert.equal((await exportDigest(f.api, await diskOf(f.api, copy))).sha, want.snap);
  });

  it('imports a tiny XVA written with tar from the format description', async () => {
    const src = join(dir, 'tiny');
    await mkdir(join(src, 'Ref:3'), { recursive: true });
    const s = (k: string, v: string) => `<member><name>${k}</name><value>${v}</value></member>`;
    const obj = (cls: string, id: string, fields: string) =>
      `<value><struct>${s('class', cls)}${s('id', id)}<member><name>snapshot</name><value><struct>${fields}</struct></value></member></struct></value>`;
    const xml = `<?xml version="1.0"?><value><struct><member><name>version</name><value><struct>${s('hostname', 'elsewhere')}${s('xapi_major', '<int>1</int>')}${s('xapi_minor', '<int>1</int>')}${s('export_vsn', '<int>2</int>')}</struct></value></member>`
      + `<member><name>objects</name><value><array><data>`
      + obj('VM', 'Ref:0', s('uuid', '3a0f6f3e-9d7b-4a56-9a8e-1c2b3d4e5f60') + s('name_label', 'tiny') + s('memory_static_max', '134217728') + s('memory_dynamic_max', '134217728')
        + s('memory_dynamic_min', '134217728') + s('memory_static_min', '16777216') + s('VCPUs_max', '1') + s('VCPUs_at_startup', '1') + s('is_a_template', '<boolean>0</boolean>')
        + `<member><name>VBDs</name><value><array><data><value>Ref:1</value></data></array></value></member>`)
      + obj('VBD', 'Ref:1', s('VM', 'Ref:0') + s('VDI', 'Ref:3') + s('userdevice', '0') + s('mode', 'RW') + s('type', 'Disk') + s('bootable', '<boolean>1</boolean>'))
      + obj('SR', 'Ref:2', s('uuid', '00000000-0000-0000-0000-00000000dead') + s('name_label', 'gone'))
      + obj('VDI', 'Ref:3', s('name_label', 'tiny disk') + s('virtual_size', String(3 * MiB)) + s('SR', 'Ref:2') + s('type', 'system'))
      + `</data></array></value></member></struct></value>`;
    await writeFile(join(src, 'ova.xml'), xml);
    const chunk0 = randomBytes(MiB);
    const last = Buffer.concat([Buffer.alloc(MiB - 10), Buffer.from('0123456789')]);
    // One chunk with an older writer's SHA-1 member, one with a newer writer's XXH64 (xxhsum's).
    await writeFile(join(src, 'Ref:3', '00000000'), chunk0);
    await writeFile(join(src, 'Ref:3', '00000000.checksum'), createHash('sha1').update(chunk0).digest('hex'));
    await writeFile(join(src, 'Ref:3', '00000002'), last);
    await writeFile(join(src, 'Ref:3', '00000002.xxhash'), await xxhsum(join(src, 'Ref:3', '00000002')));
    const file = join(dir, 'tiny.xva');
    await run('tar', ['-cf', file, '-C', src, 'ova.xml', 'Ref:3/00000000', 'Ref:3/00000000.checksum', 'Ref:3/00000002', 'Ref:3/00000002.xxhash']);
    const copy = await importFrom(file, { sr_id: f.sr });
    const r = (await f.api.call('VM.get_record', copy)) as Rec;
    assert.equal(r.name_label, 'tiny');
    assert.equal(String(r.memory_static_max), '134217728');
    const disk = await diskOf(f.api, copy);
    assert.equal(await f.api.call('VDI.get_name_label', disk), 'tiny disk');
    assert.equal(String(await f.api.call('VDI.get_virtual_size', disk)), String(3 * MiB));
    assert.equal((await exportDigest(f.api, disk)).sha, sha256(Buffer.concat([chunk0, Buffer.alloc(MiB), last])));
  });
});
