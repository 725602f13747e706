/**
 * @module
 * Shared pieces of the VHD tests: a temp directory per test, the external oracles (qemu-img,
 * libvhdi's Python binding) run as child processes, and a seeded PRNG so failures replay.
 */
import { execFile } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * A fresh directory, removed afterwards. `inMemory` puts it on /dev/shm when that tmpfs has
 * room: tests that must write a gigabyte stay fast on a slow disk (tmpfs is sparse-aware and
 * reports st_blocks like ext4, so thinness is still measured on real files).
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, opts: { inMemory?: boolean } = {}): Promise<T> {
  let base = tmpdir();
  if (opts.inMemory) {
    const fs = await statfs('/dev/shm').catch(() => null);
    if (fs && fs.bavail * fs.bsize > 4 * 1024 ** 3) base = '/dev/shm';
  }
  const dir = await mkdtemp(join(base, 'islet-vhd-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(cmd: string, args: string[], opts: { maxBuffer?: number } = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** The Debian interpreter that has python3-libvhdi (a pyenv `python3` may shadow it). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

const PYVHDI_DUMP = `
import sys, pyvhdi
paths, out = sys.argv[1:-1], sys.argv[-1]
files = []
for p in paths:
    f = pyvhdi.file()
    f.open(p)
    files.append(f)
for i in range(len(files) - 2, -1, -1):
    files[i].set_parent(files[i + 1])
leaf = files[0]
size = leaf.get_media_size()
with open(out, 'wb') as o:
    off = 0
    while off < size:
        n = min(4 << 20, size - off)
        o.write(leaf.read_buffer_at_offset(n, off))
        off += n
print(size)
`;

/** Reads a chain (leaf first) with libvhdi into `outPath`; returns the media size it reports. */
export async function pyvhdiDump(chain: string[], outPath: string): Promise<number> {
  const r = await run(SYSTEM_PYTHON, ['-c', PYVHDI_DUMP, ...chain, outPath]);
  if (r.code !== 0) throw new Error(`pyvhdi failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** Mulberry32: small, fast, seeded. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(rnd: () => number, n: number): number {
  return Math.floor(rnd() * n);
}

/** Deterministic incompressible bytes: AES-128-CTR keystream keyed by the seed. */
export function patternBuffer(length: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0, 0);
  key.writeUInt32BE(Math.floor(seed / 2 ** 32) >>> 0, 4);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}
