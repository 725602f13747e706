/**
 * The simulated iSCSI target (`islet sim iscsi`) checked by independent initiators:
 * libiscsi's iscsi-ls, iscsi-inq, iscsi-readcapacity16 and iscsi-test-cu (the SBC/SPC and
 * iSCSI families the target claims, with --dataloss so the writing tests really run), and
 * qemu-img convert/compare over iscsi://.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { haveTool } from '../helpers/tgtd.js';
import { repoRoot } from '../helpers/repo-root.js';
import { stopChild } from '../helpers/stop-child.js';

const run = promisify(execFile);
const TARGET = 'iqn.2026-12.org.islet.test:sim';
const MiB = 1024 * 1024;

/** The iscsi-test-cu families the simulated target claims; every one must pass in full. */
export const TEST_CU_FAMILIES = [
  'SCSI.TestUnitReady', 'SCSI.Inquiry', 'SCSI.ReadCapacity10', 'SCSI.ReadCapacity16', 'SCSI.Read10', 'SCSI.Read16',
  'SCSI.Write10', 'SCSI.Write16', 'SCSI.WriteSame16', 'SCSI.Unmap', 'SCSI.GetLBAStatus', 'SCSI.ModeSense6',
  'iSCSI.iSCSIcmdsn', 'iSCSI.iSCSIResiduals',
];

interface Sim {
  proc: ChildProcess;
  url: string;
  port: number;
}

async function startSim(args: string[]): Promise<Sim> {
  const proc = spawn(process.execPath, [join(repoRoot(), 'bin', 'islet'), 'sim', 'iscsi', '--listen', '127.0.0.1:0', '--target', TARGET, '--quiet', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`islet sim iscsi printed no ready line in 30 s: ${out} ${err}`)), 30_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^ready (iscsi:\/\/\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`islet sim iscsi exited with ${code}: ${err}`));
    });
  });
  const port = Number(/:([0-9]+)\//.exec(url)![1]);
  return { proc, url, port };
}

async function stopSim(s: Sim | undefined): Promise<void> {
  if (s) await stopChild(s.proc);
}

const tools = ['iscsi-ls', 'iscsi-inq', 'iscsi-readcapacity16', 'iscsi-test-cu', 'qemu-img'];
const have = tools.every((t) => haveTool(t));

describe('simulated iSCSI target against libiscsi and qemu-img', { skip: !have && 'libiscsi-bin / qemu-img not installed' }, () => {
  let dir = '';
  let sim: Sim | undefined;
  let lunUrl = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iscsi-sim-'));
    sim = await startSim(['--lun', `${join(dir, 'lun0')}:64M`, '--lun', `${join(dir, 'lun1')}:32M`]);
    lunUrl = `${sim.url}/0`;
  });

  after(async () => {
    await stopSim(sim);
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its URL and lists the target and both LUNs to iscsi-ls', async () => {
    assert.match(sim!.url, /^iscsi:\/\/127\.0\.0\.1:[0-9]+\/iqn\.2026-12\.org\.islet\.test:sim$/);
    const { stdout } = await run('iscsi-ls', ['-s', `iscsi://127.0.0.1:${sim!.port}`]);
    assert.match(stdout, new RegExp(`Target:${TARGET} Portal:127\\.0\\.0\\.1:${sim!.port},1`));
    assert.match(stdout, /Lun:0\s+Type:DIRECT_ACCESS \(Size:6[34]M\)/);
    assert.match(stdout, /Lun:1\s+Type:DIRECT_ACCESS \(Size:3[12]M\)/);
  });

  it('answers INQUIRY and the VPD pages as iscsi-inq decodes them', async () => {
    const std = (await run('iscsi-inq', [lunUrl])).stdout;
    assert.match(std, /Peripheral Device Type:DIRECT_ACCESS/);
    assert.match(std, /Vendor:ISLET/);
    assert.match(std, /CmdQue:1/);
    const pages = (await run('iscsi-inq', ['-e', '1', '-c', '0', lunUrl])).stdout;
    for (const p of ['SUPPORTED_VPD_PAGES', 'UNIT_SERIAL_NUMBER', 'DEVICE_IDENTIFICATION', 'BLOCK_LIMITS', 'LOGICAL_BLOCK_PROVISIONING']) {
      assert.match(pages, new RegExp(p), `page list names ${p}`);
    }
    const serial = (await run('iscsi-inq', ['-e', '1', '-c', '128', lunUrl])).stdout;
    assert.match(serial, /Unit Serial Number:\[[0-9A-F]{12}\]/);
    const ident = (await run('iscsi-inq', ['-e', '1', '-c', '131', lunUrl])).stdout;
    assert.match(ident, /Designator Type:\(3\) NAA/);
    assert.match(ident, new RegExp(`Designator:\\[${TARGET}\\]`));
    const limits = (await run('iscsi-inq', ['-e', '1', '-c', '176', lunUrl])).stdout;
    assert.match(limits, /maximum unmap lba count:4294967295/);
    const lbp = (await run('iscsi-inq', ['-e', '1', '-c', '178', lunUrl])).stdout;
    assert.match(lbp, /LBPU:1/i);
  });

  it('reports size, block length and thin provisioning to iscsi-readcapacity16', async () => {
    const { stdout } = await run('iscsi-readcapacity16', [lunUrl]);
    assert.match(stdout, /RETURNED LOGICAL BLOCK ADDRESS:131071/);
    assert.match(stdout, /LOGICAL BLOCK LENGTH IN BYTES:512/);
    assert.match(stdout, /LBPME:1 LBPRZ:1/);
  });

  it('round-trips an image through qemu-img convert and compare over iscsi://', async () => {
    const src = join(dir, 'src.raw');
    const back = join(dir, 'back.raw');
    const img = Buffer.alloc(32 * MiB);
    randomBytes(8 * MiB).copy(img, 0);
    randomBytes(4 * MiB).copy(img, 20 * MiB);
    await writeFile(src, img);
    const url1 = `${sim!.url}/1`;
    await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, url1], { timeout: 120_000 });
    await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', src, url1], { timeout: 120_000 });
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', url1, back], { timeout: 120_000 });
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(await readFile(back)), sha(img));
    // the zero stretches stay holes in the simulator's file
    const st = await stat(join(dir, 'lun1'));
    assert.ok(st.blocks * 512 < 20 * MiB, `LUN file holds ${st.blocks * 512} bytes for 12 MiB of data`);
  });

  for (const family of TEST_CU_FAMILIES) {
    it(`passes iscsi-test-cu ${family} in full (--dataloss)`, async () => {
      const r = await run('iscsi-test-cu', ['-d', `--test=${family}`, lunUrl], { timeout: 600_000 }).catch((e: { stdout?: string; code?: number }) => e);
      const out = (r as { stdout?: string }).stdout ?? '';
      const m = /tests\s+([0-9]+)\s+([0-9]+)\s+([0-9]+)\s+([0-9]+)/.exec(out);
      assert.ok(m, `no CUnit summary for ${family}:\n${out.slice(-2000)}`);
      const [, total, ran, passed, failed] = m!.map(Number);
      assert.equal(failed, 0, `${family}: ${failed} failed\n${out.slice(-3000)}`);
      assert.ok(total! > 0 && ran === total && passed === total, `${family}: ${passed}/${ran}/${total}`);
      assert.equal((r as { code?: number }).code ?? 0, 0, `${family}: exit status`);
    });
  }

  it('refuses a wrong CHAP secret and accepts the right one', async () => {
    const chapSim = await startSim(['--lun', `${join(dir, 'chap0')}:8M`, '--chap', 'islet:s3cret-s3cret']);
    try {
      const good = await run('iscsi-ls', ['-s', `iscsi://islet%s3cret-s3cret@127.0.0.1:${chapSim.port}`]);
      assert.match(good.stdout, /Lun:0\s+Type:DIRECT_ACCESS/);
      await assert.rejects(run('iscsi-inq', [`iscsi://islet%wrong-secret1@127.0.0.1:${chapSim.port}/${TARGET}/0`]));
      await assert.rejects(run('iscsi-inq', [`iscsi://127.0.0.1:${chapSim.port}/${TARGET}/0`]));
    } finally {
      await stopSim(chapSim);
    }
  });
});
