/**
 * @module
 * Shared pieces of the file SR tests: a temp directory on tmpfs when there is room (fast,
 * and sparse-aware like ext4, so st_blocks still measures thinness), an attached SR in it,
 * and a deterministic multi-level snapshot tree with branches from clones.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttachedSr } from '../../../src/core/ports/sr-driver.js';
import { FileSrDriver } from '../../../src/storage/file/file-sr-driver.js';
import { pattern, writeVdi } from '../sr-driver.contract.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export async function tempBase(): Promise<string> {
  const shm = await statfs('/dev/shm').catch(() => null);
  return shm && shm.bavail * shm.bsize > 2 * GiB ? '/dev/shm' : tmpdir();
}

export async function makeTempDir(prefix = 'islet-file-sr-'): Promise<string> {
  return mkdtemp(join(await tempBase(), prefix));
}

export interface TestSr {
  driver: FileSrDriver;
  path: string;
  srUuid: string;
  sr: AttachedSr;
  deviceConfig: Record<string, string>;
  reattach(): Promise<AttachedSr>;
  close(): Promise<void>;
}

/** A new file SR in `path` (a fresh temp dir when omitted), attached. */
export async function newSr(path?: string): Promise<TestSr> {
  const owned = path === undefined;
  const dir = path ?? (await makeTempDir());
  const driver = new FileSrDriver();
  const srUuid = randomUUID();
  const deviceConfig = { path: dir };
  await driver.create(srUuid, deviceConfig, {});
  const t: TestSr = {
    driver,
    path: dir,
    srUuid,
    deviceConfig,
    sr: await driver.attach(srUuid, deviceConfig),
    async reattach() {
      await t.sr.detach();
      t.sr = await driver.attach(srUuid, deviceConfig);
      return t.sr;
    },
    async close() {
      await t.sr.detach().catch(() => undefined);
      if (owned) await rm(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** st_blocks × 512 summed over the SR's VHD files. */
export async function vhdBytes(dir: string): Promise<number> {
  let total = 0;
  for (const n of await readdir(dir)) if (n.endsWith('.vhd')) total += (await stat(join(dir, n))).blocks * 512;
  return total;
}

export interface BuiltTree {
  /** Visible disks by role. */
  vdis: Record<string, string>;
}

/**
 * A tree four levels deep with two branches and five snapshots: disk `vm` with snapshots
 * s1..s3 (writes in between), a clone `c1` of s1 with its own writes and snapshot `cs1`, a
 * clone `c2` of s2 with its snapshot `cs2`. Writes are partial blocks at odd sector offsets so coalescing must honour sector
 * bitmaps; `pageAligned` rounds them to 4 KiB (libvhdi resolves bitmaps a byte, 8 sectors,
 * at a time, so it is an oracle only for page-aligned data).
 */
export async function buildTree(sr: AttachedSr, opts: { size?: number; pageAligned?: boolean } = {}): Promise<BuiltTree> {
  const size = opts.size ?? 8 * MiB;
  const up = (n: number) => (opts.pageAligned ? Math.ceil(n / 4096) * 4096 : n);
  const write = (uuid: string, offset: number, length: number, seed: number) => writeVdi(sr, uuid, up(offset), pattern(up(length), seed));
  const v: Record<string, string> = {};
  const id = (role: string) => (v[role] = randomUUID());
  await sr.vdiCreate({ uuid: id('vm'), virtualSize: size, allocation: 'thin' });
  await write(v.vm!, 0, 3 * MiB + 4096, 1);
  await sr.vdiSnapshot(v.vm!, id('s1'));
  await write(v.vm!, MiB + 512, 2 * MiB, 2);
  await sr.vdiSnapshot(v.vm!, id('s2'));
  await write(v.vm!, 5 * MiB - 1536, MiB + 7 * 512, 3);
  await sr.vdiSnapshot(v.vm!, id('s3'));
  await write(v.vm!, 6 * MiB, 64 * KiB, 4);
  await sr.vdiClone(v.s1!, id('c1'));
  await write(v.c1!, 2 * MiB - 512, MiB, 5);
  await sr.vdiSnapshot(v.c1!, id('cs1'));
  await write(v.c1!, 7 * MiB, 3 * 512, 6);
  await sr.vdiClone(v.s2!, id('c2'));
  await write(v.c2!, 4 * MiB, 100 * KiB, 7);
  await sr.vdiSnapshot(v.c2!, id('cs2'));
  await write(v.c2!, 4 * MiB + 64 * KiB, 8 * 512, 8);
  return { vdis: v };
}
