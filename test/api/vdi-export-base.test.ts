/**
 * `GET /export_raw_vdi/?format=vhd&vdi=&base=`, as Xen Orchestra's incremental backups ask
 * it: a VHD holding only the blocks that differ from the base VDI (here a snapshot taken
 * before some of the disk changed), zeroed blocks included. qemu-img is the oracle: it
 * reads the VHD's header, maps its allocated blocks, and reads them; laid over the base's raw
 * export they give the disk as it is now. With `format=raw`, the unchanged blocks read as
 * zeroes. The base may be named by uuid; a base that does not exist is refused. Across a VDI
 * tree written in place over NBD (qemu-io), where the export reads only what the nodes the
 * two do not share store: a disk from its last snapshot, a snapshot from the one before (as
 * a nightly backup asks), and a clone from snapshots on either side of its branch point.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { call, login } from '../helpers/rpc.js';

const exec = promisify(execFile);
const MiB = 1024 * 1024;
const BLOCK = 2 * MiB;
const SIZE = 8 * BLOCK;

describe('VDI export relative to a base', { timeout: 120_000 }, () => {
  let srv: IsletProcess;
  let s: string;
  let work: string;
  let vdi: string;
  let base: string;
  let before_: Buffer;
  let now: Buffer;

  const put = async (ref: string, body: Buffer) => {
    const res = await fetch(`${srv.url}/import_raw_vdi?session_id=${s}&vdi=${ref}&format=raw`, { method: 'PUT', body: new Uint8Array(body) });
    assert.equal(res.status, 200, await res.text());
  };
  const get = async (query: string): Promise<{ status: number; body: Buffer }> => {
    const res = await fetch(`${srv.url}/export_raw_vdi/?session_id=${s}&${query}`);
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };

  before(async () => {
    srv = await startIslet({ args: ['--spawn-hypervisor', 'false'] });
    s = await login(srv.url, srv.rootPassword);
    work = await mkdtemp(join(tmpdir(), 'export-base-'));
    const [pool] = await call(srv.url, 'pool.get_all', s);
    const sr = await call(srv.url, 'pool.get_default_SR', s, pool);
    vdi = await call(srv.url, 'VDI.create', s, {
      name_label: 'backed up', SR: sr, virtual_size: SIZE, type: 'user', sharable: false, read_only: false, other_config: {}, sm_config: {},
    });
    before_ = Buffer.alloc(SIZE);
    for (let b = 0; b < 6; b++) before_.fill(0x10 + b, b * BLOCK, (b + 1) * BLOCK);
    await put(vdi, before_);
    base = await call(srv.url, 'VDI.snapshot', s, vdi, {});
    now = Buffer.from(before_);
    now.fill(0xa5, 2 * BLOCK + 4096, 2 * BLOCK + 8192); // block 2: a few sectors changed
    now.fill(0, 4 * BLOCK, 5 * BLOCK); // block 4: zeroed
    now.fill(0x77, 7 * BLOCK, 7 * BLOCK + 512); // block 7: written where there was nothing
    await put(vdi, now);
  });
  after(async () => {
    await srv?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('as a VHD holds only the changed blocks, which laid over the base give the disk', async () => {
    const r = await get(`format=vhd&vdi=${vdi}&base=${base}`);
    assert.equal(r.status, 200);
    const vhd = join(work, 'delta.vhd');
    await writeFile(vhd, r.body);
    assert.match((await exec('qemu-img', ['info', '-f', 'vpc', vhd])).stdout, /virtual size: 16 MiB/);
    const map = JSON.parse((await exec('qemu-img', ['map', '--output=json', '-f', 'vpc', vhd])).stdout) as Array<{ start: number; length: number; data: boolean }>;
    const blocks = new Set<number>();
    for (const e of map.filter((m) => m.data)) for (let at = e.start; at < e.start + e.length; at += BLOCK) blocks.add(Math.floor(at / BLOCK));
    assert.deepEqual([...blocks].sort(), [2, 4, 7], 'the blocks the VHD holds');
    assert.ok(r.body.length < 4 * BLOCK, `${r.body.length} bytes for three changed blocks of eight`);

    const raw = join(work, 'delta.raw');
    await exec('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', vhd, raw]);
    const delta = await readFile(raw);
    const rebuilt = Buffer.from((await get(`format=raw&vdi=${base}`)).body);
    assert.ok(rebuilt.equals(before_), 'the base exports as it was');
    for (const b of blocks) delta.copy(rebuilt, b * BLOCK, b * BLOCK, (b + 1) * BLOCK);
    assert.ok(rebuilt.equals(now), 'base + delta = the disk now');
  });

  it('as raw reads as zeroes outside the changed blocks; the base may be a uuid', async () => {
    const uuid = await call(srv.url, 'VDI.get_uuid', s, base);
    const r = await get(`format=raw&vdi=${vdi}&base=${uuid}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.length, SIZE);
    for (let b = 0; b < 8; b++) {
      const want = [2, 4, 7].includes(b) ? now.subarray(b * BLOCK, (b + 1) * BLOCK) : Buffer.alloc(BLOCK);
      assert.ok(r.body.subarray(b * BLOCK, (b + 1) * BLOCK).equals(want), `block ${b}`);
    }
  });

  it('refuses a base that does not exist', async () => {
    const r = await get(`format=vhd&vdi=${vdi}&base=OpaqueRef:00000000-0000-0000-0000-00000000dead`);
    assert.ok(r.status >= 400, String(r.status));
    assert.match(r.body.toString(), /HANDLE_INVALID/);
  });
});

describe('VDI export relative to a base, across a VDI tree written in place', { timeout: 120_000 }, () => {
  let srv: IsletProcess;
  let s: string;
  let sr: string;
  let work: string;
  /** What each VDI should read as, kept beside the server's copy. */
  const content = new Map<string, Buffer>();

  const nbdWrite = async (vdi: string, block: number, byte: number) => {
    const [info] = await call(srv.url, 'VDI.get_nbd_info', s, vdi);
    const uri = `nbd://${info.address}:${info.port}/${encodeURIComponent(info.exportname)}`;
    await exec('qemu-io', ['-f', 'raw', '-c', `write -P ${byte} ${block * BLOCK + 4096} 8192`, uri]);
    content.get(vdi)!.fill(byte, block * BLOCK + 4096, block * BLOCK + 4096 + 8192);
  };
  const snapshotOf = async (vdi: string) => {
    const snap = await call(srv.url, 'VDI.snapshot', s, vdi, {});
    content.set(snap, Buffer.from(content.get(vdi)!));
    return snap;
  };
  /** The blocks the VHD of `GET /export_raw_vdi?format=vhd&base=` holds, each checked against the disk. */
  const changedBlocks = async (vdi: string, base: string): Promise<number[]> => {
    const res = await fetch(`${srv.url}/export_raw_vdi/?session_id=${s}&format=vhd&vdi=${vdi}&base=${base}`);
    assert.equal(res.status, 200);
    const vhd = join(work, 'tree-delta.vhd');
    const raw = join(work, 'tree-delta.raw');
    await writeFile(vhd, Buffer.from(await res.arrayBuffer()));
    const map = JSON.parse((await exec('qemu-img', ['map', '--output=json', '-f', 'vpc', vhd])).stdout) as Array<{ start: number; length: number; data: boolean }>;
    const blocks = new Set<number>();
    for (const e of map.filter((m) => m.data)) for (let at = e.start; at < e.start + e.length; at += BLOCK) blocks.add(Math.floor(at / BLOCK));
    await exec('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', vhd, raw]);
    const delta = await readFile(raw);
    for (const b of blocks) {
      assert.ok(delta.subarray(b * BLOCK, (b + 1) * BLOCK).equals(content.get(vdi)!.subarray(b * BLOCK, (b + 1) * BLOCK)), `block ${b} reads as the disk`);
    }
    return [...blocks].sort((a, b) => a - b);
  };

  before(async () => {
    srv = await startIslet({ args: ['--spawn-hypervisor', 'false'] });
    s = await login(srv.url, srv.rootPassword);
    const [pool] = await call(srv.url, 'pool.get_all', s);
    sr = await call(srv.url, 'pool.get_default_SR', s, pool);
    const [net] = await call(srv.url, 'network.get_all', s);
    await call(srv.url, 'network.add_purpose', s, net, 'insecure_nbd');
    work = await mkdtemp(join(tmpdir(), 'export-tree-'));
  });
  after(async () => {
    await srv?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('sends what changed since the base, whichever nodes of the tree the two are', async () => {
    const vdi = await call(srv.url, 'VDI.create', s, {
      name_label: 'in place', SR: sr, virtual_size: SIZE, type: 'user', sharable: false, read_only: false, other_config: {}, sm_config: {},
    });
    content.set(vdi, Buffer.alloc(SIZE));
    for (const b of [0, 1, 3, 6]) await nbdWrite(vdi, b, 0x20 + b);
    const s1 = await snapshotOf(vdi);
    await nbdWrite(vdi, 3, 0x33);
    await nbdWrite(vdi, 5, 0x55);
    const s2 = await snapshotOf(vdi);
    await nbdWrite(vdi, 6, 0x66);
    assert.deepEqual(await changedBlocks(vdi, s2), [6], 'the disk from its last snapshot');
    assert.deepEqual(await changedBlocks(s2, s1), [3, 5], 'a snapshot from the one before');
    assert.deepEqual(await changedBlocks(vdi, s1), [3, 5, 6]);
    // A clone of the first snapshot, written: a branch beside the disk's.
    const clone = await call(srv.url, 'VDI.clone', s, s1, {});
    content.set(clone, Buffer.from(content.get(s1)!));
    await nbdWrite(clone, 7, 0x77);
    await nbdWrite(clone, 1, 0x21); // the byte it held: written, yet the same
    assert.deepEqual(await changedBlocks(clone, s1), [7], 'a rewrite that changed nothing is left out');
    // Blocks 3 and 5 differ because the base moved on after the branch point (5 as zeroes).
    assert.deepEqual(await changedBlocks(clone, s2), [3, 5, 7]);
    assert.deepEqual(await changedBlocks(s1, clone), [7], 'the other way round: the base has the data');
  });
});
