/**
 * `PUT /import_raw_vdi?format=vhd` reads the VHD as it arrives, against a real server: VHDs
 * made by qemu-img (dynamic and fixed) and by our own exporter land in the disk as qemu-img
 * reads them (`qemu-img compare`), blocks the image does not hold read as zeroes afterwards
 * even where the disk held data, and the disk stays thin; an open-ended upload (no length,
 * ended by the client's close) is answered at once and its image written. A VHD whose BAT
 * comes after its blocks (which a stream cannot follow) is still imported, through a
 * temporary file. A body cut short fails its task with VDI_IO_ERROR; a lying footer or
 * header, a differencing image or one larger than the disk fail with a clear error before
 * anything is written, and so does a raw body longer than the disk.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { call, login } from '../helpers/rpc.js';
import { vhdChecksum } from '../../src/storage/vhd/checksum.js';
import { createDifferencing, createDynamic } from '../../src/storage/vhd/index.js';

const exec = promisify(execFile);
const MiB = 1024 * 1024;
const SIZE = 40 * MiB;

interface Outcome {
  status: number;
  text: string;
  task: string;
  error: string[];
}

describe('VHD import reads the body as it arrives', { timeout: 300_000 }, () => {
  let srv: IsletProcess;
  let s: string;
  let sr: string;
  let work: string;

  before(async () => {
    srv = await startIslet({ args: ['--spawn-hypervisor', 'false'] });
    s = await login(srv.url, srv.rootPassword);
    const [pool] = await call(srv.url, 'pool.get_all', s);
    sr = await call(srv.url, 'pool.get_default_SR', s, pool);
    work = await mkdtemp(join(tmpdir(), 'vhd-import-'));
  });
  after(async () => {
    await srv?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const newVdi = (size = SIZE): Promise<string> => call(srv.url, 'VDI.create', s, {
    name_label: 'import target', SR: sr, virtual_size: size, type: 'user', sharable: false, read_only: false, other_config: {}, sm_config: {},
  });

  async function put(vdi: string, body: Buffer, format = 'vhd'): Promise<Outcome> {
    const task = await call(srv.url, 'task.create', s, 'import', '');
    const res = await fetch(`${srv.url}/import_raw_vdi?session_id=${s}&vdi=${vdi}&format=${format}&task_id=${task}`, { method: 'PUT', body: new Uint8Array(body) });
    const text = await res.text();
    const status = await call(srv.url, 'task.get_status', s, task);
    assert.notEqual(status, 'pending', 'the task ended with the request');
    return { status: res.status, text, task: status, error: await call(srv.url, 'task.get_error_info', s, task) };
  }

  async function exportRaw(vdi: string): Promise<string> {
    const res = await fetch(`${srv.url}/export_raw_vdi?session_id=${s}&vdi=${vdi}&format=raw`);
    assert.equal(res.status, 200);
    const file = join(work, `out-${vdi.slice(-8)}.raw`);
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    return file;
  }

  /** The disk holds what qemu-img reads from `vhd`. */
  async function assertHolds(vdi: string, vhd: string): Promise<void> {
    const out = await exportRaw(vdi);
    const r = await exec('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', vhd, out]).catch((e: { stdout: string; stderr: string }) => e);
    assert.match(r.stdout, /Images are identical/, `qemu-img compare: ${r.stdout} ${r.stderr}`);
  }

  async function utilisation(vdi: string): Promise<number> {
    await call(srv.url, 'SR.scan', s, sr);
    return Number(await call(srv.url, 'VDI.get_physical_utilisation', s, vdi));
  }

  /** A dynamic VHD written by qemu-img: data in a few places, the last block partly. */
  async function qemuVhd(name: string): Promise<string> {
    const vhd = join(work, name);
    await exec('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'subformat=dynamic,force_size=on', vhd, String(SIZE)]);
    await exec('qemu-io', ['-f', 'vpc', '-c', 'write -P 0xa5 1M 3M', '-c', 'write -P 0x5a 20M 512k', '-c', 'write -P 0x11 39M 1M', vhd]);
    return vhd;
  }

  /** A disk already full of other data, so that what the image leaves out must be zeroed. */
  async function dirtyVdi(): Promise<string> {
    const vdi = await newVdi();
    const r = await put(vdi, Buffer.alloc(SIZE, 0xee), 'raw');
    assert.equal(r.task, 'success', r.text);
    return vdi;
  }

  it('imports a dynamic VHD made by qemu-img into a disk that held other data', async () => {
    const vhd = await qemuVhd('qemu.vhd');
    const vdi = await dirtyVdi();
    const r = await put(vdi, await readFile(vhd));
    assert.equal(r.task, 'success', `${r.status} ${r.text} ${r.error}`);
    assert.equal(r.status, 200);
    await assertHolds(vdi, vhd);
  });

  it('keeps a new disk thin: only the blocks with data take space', async () => {
    const vhd = await qemuVhd('thin.vhd');
    const vdi = await newVdi();
    const r = await put(vdi, await readFile(vhd));
    assert.equal(r.task, 'success', r.text);
    await assertHolds(vdi, vhd);
    const used = await utilisation(vdi);
    assert.ok(used < 8 * MiB, `4.5 MiB of data took ${used} bytes`);
  });

  it('imports a VHD our own exporter wrote', async () => {
    const vhd = await qemuVhd('src.vhd');
    const from = await newVdi();
    assert.equal((await put(from, await readFile(vhd))).task, 'success');
    const res = await fetch(`${srv.url}/export_raw_vdi?session_id=${s}&vdi=${from}&format=vhd`);
    const exported = join(work, 'exported.vhd');
    await writeFile(exported, Buffer.from(await res.arrayBuffer()));
    const to = await dirtyVdi();
    const r = await put(to, await readFile(exported));
    assert.equal(r.task, 'success', r.text);
    await assertHolds(to, exported);
    await assertHolds(to, vhd);
  });

  it('imports a fixed VHD', async () => {
    const vhd = join(work, 'fixed.vhd');
    await exec('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'subformat=fixed,force_size=on', vhd, String(SIZE)]);
    await exec('qemu-io', ['-f', 'vpc', '-c', 'write -P 0x3c 5M 2M', '-c', `write -P 0x7e ${SIZE - 4096} 4096`, vhd]);
    const vdi = await dirtyVdi();
    const r = await put(vdi, await readFile(vhd));
    assert.equal(r.task, 'success', r.text);
    await assertHolds(vdi, vhd);
  });

  it('imports a VHD whose BAT comes after its blocks, through a temporary file', async () => {
    const vhd = await qemuVhd('bat-last.vhd');
    const bytes = await readFile(vhd);
    const moved = join(work, 'moved.vhd');
    await writeFile(moved, batMovedToEnd(bytes));
    await exec('qemu-img', ['compare', '-f', 'vpc', '-F', 'vpc', moved, vhd]); // still the same disk
    const vdi = await dirtyVdi();
    const r = await put(vdi, await readFile(moved));
    assert.equal(r.task, 'success', r.text);
    await assertHolds(vdi, vhd);
  });

  it('takes an open-ended upload (Xen Orchestra\'s 1 PiB length) up to the close, answering at once', async () => {
    const vhd = await qemuVhd('open.vhd');
    const bytes = await readFile(vhd);
    const vdi = await dirtyVdi();
    const task = await call(srv.url, 'task.create', s, 'import', '');
    const url = new URL(`${srv.url}/import_raw_vdi?session_id=${s}&vdi=${vdi}&format=vhd&task_id=${task}`);
    const status = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to the open-ended upload in 30 s')), 30_000);
      const req = request(url, { method: 'PUT', headers: { 'content-length': String(2 ** 50) } });
      req.on('error', () => undefined); // the client hangs up itself
      req.on('response', (res) => {
        clearTimeout(timer);
        res.resume();
        resolve(res.statusCode!);
        // Its data sent, the client closes its side, as Xen Orchestra does.
        req.write(bytes, () => req.socket?.end());
      });
      req.flushHeaders();
    });
    assert.equal(status, 200, 'answered before the body');
    let state = 'pending';
    for (let i = 0; i < 600 && state === 'pending'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = await call(srv.url, 'task.get_status', s, task);
    }
    assert.equal(state, 'failure', 'the task ends');
    assert.equal((await call(srv.url, 'task.get_error_info', s, task))[0], 'VDI_IO_ERROR', 'as xapi says of a body with no length');
    await assertHolds(vdi, vhd);
  });

  it('fails a body cut short with VDI_IO_ERROR, in a block or before the footer', async () => {
    const bytes = await readFile(await qemuVhd('cut.vhd'));
    const vdi = await newVdi();
    for (const length of [1536 + 100, bytes.length - 2 * MiB, bytes.length - 512]) {
      const r = await put(vdi, bytes.subarray(0, length));
      assert.equal(r.task, 'failure', `cut at ${length}`);
      assert.equal(r.error[0], 'VDI_IO_ERROR', `cut at ${length}: ${r.error}`);
      assert.ok(r.status >= 400, `an error reply: ${r.status}`);
    }
  });

  it('refuses a lying footer or header, a differencing image and one too large, writing nothing', async () => {
    const vhd = await qemuVhd('lies.vhd');
    const bytes = await readFile(vhd);
    const vdi = await dirtyVdi();
    const footerCopy = Buffer.from(bytes);
    footerCopy[48 + 7] ^= 1; // current size changed, checksum not
    const header = Buffer.from(bytes);
    header.writeUInt32BE(4096, 512 + 28); // max table entries, checksum not
    const footerEnd = Buffer.from(bytes);
    footerEnd[footerEnd.length - 512 + 70] ^= 0xff;
    const cases: Array<[string, Buffer, string, RegExp]> = [
      ['footer copy checksum', footerCopy, 'INVALID_VALUE', /BAD_FOOTER_CHECKSUM/],
      ['header checksum', header, 'INVALID_VALUE', /BAD_HEADER_CHECKSUM/],
    ];
    for (const [what, body, code, reason] of cases) {
      const r = await put(vdi, body);
      assert.equal(r.task, 'failure', what);
      assert.equal(r.error[0], code, `${what}: ${r.error}`);
      assert.equal(r.error[1], 'format', `${what}: ${r.error}`);
      assert.match(r.error[2]!, reason, what);
    }
    const big = join(work, 'big.vhd');
    await exec('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'subformat=dynamic,force_size=on', big, String(SIZE + 2 * MiB)]);
    const tooBig = await put(vdi, await readFile(big));
    assert.deepEqual(tooBig.error, ['VDI_TOO_SMALL', vdi, String(SIZE + 2 * MiB)]);
    const parent = join(work, 'parent.vhd');
    const child = join(work, 'child.vhd');
    await createDynamic(parent, SIZE);
    await createDifferencing(child, parent);
    const diff = await put(vdi, await readFile(child));
    assert.deepEqual(diff.error, ['INVALID_VALUE', 'format', 'a differencing VHD cannot be imported without its parent']);
    // None of these wrote a byte: the disk still holds what it held.
    const out = await readFile(await exportRaw(vdi));
    assert.ok(out.equals(Buffer.alloc(SIZE, 0xee)), 'the disk is as before');

    // The footer at the end is read last: the import fails, though the blocks were written.
    const end = await put(vdi, footerEnd);
    assert.equal(end.task, 'failure');
    assert.equal(end.error[0], 'INVALID_VALUE', String(end.error));
    assert.match(end.error[2]!, /BAD_FOOTER_CHECKSUM/);
  });
});

describe('raw import into a disk smaller than the body', { timeout: 120_000 }, () => {
  let srv: IsletProcess;
  let s: string;

  before(async () => {
    srv = await startIslet({ args: ['--spawn-hypervisor', 'false'] });
    s = await login(srv.url, srv.rootPassword);
  });
  after(async () => {
    await srv?.stop();
  });

  it('is refused with VDI_TOO_SMALL and the body length before a byte is written', async () => {
    const [pool] = await call(srv.url, 'pool.get_all', s);
    const sr = await call(srv.url, 'pool.get_default_SR', s, pool);
    const vdi = await call(srv.url, 'VDI.create', s, {
      name_label: 'small', SR: sr, virtual_size: 4 * MiB, type: 'user', sharable: false, read_only: false, other_config: {}, sm_config: {},
    });
    const put = async (body: Buffer) => {
      const task = await call(srv.url, 'task.create', s, 'import', '');
      const res = await fetch(`${srv.url}/import_raw_vdi?session_id=${s}&vdi=${vdi}&format=raw&task_id=${task}`, { method: 'PUT', body: new Uint8Array(body) });
      await res.arrayBuffer();
      return { status: res.status, task: await call(srv.url, 'task.get_status', s, task), error: await call(srv.url, 'task.get_error_info', s, task) };
    };
    assert.equal((await put(Buffer.alloc(4 * MiB, 0x33))).task, 'success');
    // Longer than the disk by a megabyte and a half: the first 4 MiB would fit.
    const r = await put(Buffer.alloc(5 * MiB + 512 * 1024, 0x44));
    assert.equal(r.task, 'failure');
    assert.ok(r.status >= 400, `an error reply: ${r.status}`);
    assert.deepEqual(r.error, ['VDI_TOO_SMALL', vdi, String(5 * MiB + 512 * 1024)]);
    const res = await fetch(`${srv.url}/export_raw_vdi?session_id=${s}&vdi=${vdi}&format=raw`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(Buffer.alloc(4 * MiB, 0x33)), 'the disk is as before');
  });
});

/** `bytes` (a dynamic VHD, BAT at 1536) with its BAT copied after the blocks and the header pointing there. */
function batMovedToEnd(bytes: Buffer): Buffer {
  const entries = bytes.readUInt32BE(512 + 28);
  const batBytes = Math.ceil((entries * 4) / 512) * 512;
  const oldAt = Number(bytes.readBigUInt64BE(512 + 16));
  const bat = bytes.subarray(oldAt, oldAt + batBytes);
  const body = bytes.subarray(0, bytes.length - 512);
  const footer = bytes.subarray(bytes.length - 512);
  const out = Buffer.concat([body, bat, footer]);
  out.writeBigUInt64BE(BigInt(body.length), 512 + 16);
  out.fill(0, oldAt, oldAt + batBytes);
  out.writeUInt32BE(vhdChecksum(out.subarray(512, 1536), 36), 512 + 36);
  return out;
}
