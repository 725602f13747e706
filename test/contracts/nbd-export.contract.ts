/**
 * @module
 * The contract of the NBD export port: what a client of this host's NBD server sees of an
 * exportable disk, whichever storage lends it (a VHD chain on a file SR, a LUN of an
 * array SR reached over iSCSI, or a whole host resolving `VDI.get_nbd_info` names). A test
 * file calls `runNbdExportContract(name, make)` with a factory that serves two disks of
 * the same content on a real NBD server on loopback: one writable, one read-only (a
 * snapshot), and names one export that must be refused. Only external clients (nbdinfo,
 * nbdcopy, qemu-img) look at the exports, as users' tools would.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pattern } from '../storage/sr-driver.contract.js';

export interface NbdExportFixture {
  readonly address: string;
  readonly port: number;
  /** Export names: a writable disk, and a read-only one holding the same bytes. */
  readonly writable: string;
  readonly readOnly: string;
  /** A name the exports must refuse (no such disk, or a token that grants nothing). */
  readonly refused: string;
  /** What both disks hold when the fixture is made (their size is its length). */
  readonly content: Buffer;
  /** Disks lent and not yet released, where the resolver runs in this process. */
  openHandles?(): number;
  stop(): Promise<void>;
}

export type MakeNbdExports = (content: Buffer) => Promise<NbdExportFixture>;

const MiB = 1024 * 1024;
/** The disks' size: large enough for several NBD requests per copy, small enough to be quick. */
export const EXPORT_SIZE = 8 * MiB;

/** A disk image with data at both ends and a hole in the middle. */
export function exportImage(seed: number): Buffer {
  const img = Buffer.alloc(EXPORT_SIZE);
  pattern(MiB, seed).copy(img, 0);
  pattern(MiB, seed + 1).copy(img, EXPORT_SIZE - MiB);
  return img;
}

const TOOLS = ['nbdinfo', 'nbdcopy', 'qemu-img'];

function run(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * MiB }, (e, out, err) => {
      const code = e ? (typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : 1) : 0;
      resolve({ code, out: String(out), err: String(err) || (e && code !== 0 ? e.message : '') });
    });
  });
}

async function missingTools(): Promise<string[]> {
  const out: string[] = [];
  for (const t of TOOLS) if ((await run('sh', ['-c', `command -v ${t}`])).code !== 0) out.push(t);
  return out;
}

/** Why the suite cannot run here; on CI a missing tool is a failure, never a skip. */
export async function nbdExportSkip(): Promise<string | false> {
  const missing = await missingTools();
  if (!missing.length) return false;
  if (process.env.CI) throw new Error(`needed on CI: ${missing.join(', ')}`);
  return `missing ${missing.join(', ')}`;
}

/**
 * What an adapter's fixture can show beyond the common contract. A check an adapter cannot
 * support is left out of its run at registration (and said in the suite's name), never
 * skipped at run time: a fixture that claims a feature and lacks it fails.
 */
export interface NbdExportFeatures {
  /** The resolver runs in the test's process, so lent disks can be counted (`openHandles`). */
  readonly countsLentDisks: boolean;
}

export function runNbdExportContract(name: string, make: MakeNbdExports, skip: string | false = false,
  features: NbdExportFeatures = { countsLentDisks: true }): void {
  describe(`NBD export contract: ${name}`, { skip, timeout: 300_000 }, () => {
    let fx: NbdExportFixture;
    let dir: string;
    const original = exportImage(11);
    /** libnbd and qemu take the export name from the URI's path, percent-decoded. */
    const uri = (exportName: string) => `nbd://${fx.address.includes(':') ? `[${fx.address}]` : fx.address}:${fx.port}/${encodeURIComponent(exportName)}`;
    const ok = async (cmd: string, ...args: string[]) => {
      const r = await run(cmd, args);
      assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.err}`);
      return r.out;
    };
    /** The export's whole content, copied out by nbdcopy over a connection of its own. */
    const contentOf = async (exportName: string, file = 'out.raw') => {
      const out = join(dir, file);
      await ok('nbdcopy', uri(exportName), out);
      return readFile(out);
    };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'islet-nbd-contract-'));
      fx = await make(original);
      assert.equal(fx.content.length, EXPORT_SIZE, 'the fixture holds the content it was given');
    });
    after(async () => {
      await fx?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('announces the disk\'s size, writable or read-only as the disk is', async () => {
      assert.equal((await ok('nbdinfo', '--size', uri(fx.writable))).trim(), String(EXPORT_SIZE));
      assert.equal((await ok('nbdinfo', '--size', uri(fx.readOnly))).trim(), String(EXPORT_SIZE));
      assert.notEqual((await run('nbdinfo', ['--is', 'read-only', uri(fx.writable)])).code, 0, 'the writable disk is announced writable');
      assert.equal((await run('nbdinfo', ['--is', 'read-only', uri(fx.readOnly)])).code, 0, 'the read-only disk is announced read-only');
    });

    it('reads back exactly what the disk holds', async () => {
      assert.ok((await contentOf(fx.writable)).equals(original), 'the writable disk reads as made');
      assert.ok((await contentOf(fx.readOnly)).equals(original), 'the read-only disk reads as made');
    });

    it('what a client writes is what the next connection reads (qemu-img agrees)', async () => {
      const next = exportImage(23);
      // A hole in the new image over data of the old one: the export must read zeroes there.
      next.fill(0, 0, MiB / 2);
      const src = join(dir, 'next.raw');
      await writeFile(src, next);
      await ok('nbdcopy', src, uri(fx.writable));
      assert.ok((await contentOf(fx.writable)).equals(next), 'the writable disk reads what was written');
      await ok('qemu-img', 'compare', '-f', 'raw', '-F', 'raw', src, uri(fx.writable));
    });

    it('the read-only disk refuses writes and keeps its content while the other changes', async () => {
      const src = join(dir, 'junk.raw');
      await writeFile(src, exportImage(37));
      const r = await run('nbdcopy', [src, uri(fx.readOnly)]);
      assert.notEqual(r.code, 0, 'a write to the read-only disk succeeded');
      assert.ok((await contentOf(fx.readOnly)).equals(original), 'the read-only disk still reads as made');
    });

    it('several connections at once each read the whole disk', async () => {
      const want = await contentOf(fx.writable, 'ref.raw');
      const got = await Promise.all([1, 2, 3].map((i) => contentOf(fx.writable, `par${i}.raw`)));
      for (const g of got) assert.ok(g.equals(want));
    });

    it('a name it does not grant opens nothing, and the next client is served', async () => {
      assert.notEqual((await run('nbdinfo', [uri(fx.refused)])).code, 0, `${fx.refused} was served`);
      assert.equal((await ok('nbdinfo', '--size', uri(fx.writable))).trim(), String(EXPORT_SIZE));
    });

    if (features.countsLentDisks) it('every disk lent to a connection is released when the connection ends', async () => {
      assert.ok(fx.openHandles, 'the fixture claims to count lent disks but has no openHandles');
      await contentOf(fx.writable);
      const deadline = Date.now() + 10_000;
      while (fx.openHandles!() !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(fx.openHandles!(), 0, 'disks still lent 10 s after every client left');
    });
  });
}
