/**
 * @module
 * Shared pieces of the VHD tests: a temp directory per test, the external oracles (qemu-img,
 * libvhdi's Python binding) run as child processes, and a seeded PRNG so failures replay.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'islet-vhd-'));
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

export function patternBuffer(length: number, seed: number): Buffer {
  const rnd = prng(seed);
  const b = Buffer.allocUnsafe(Math.ceil(length / 4) * 4);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(Math.floor(rnd() * 0x100000000), i);
  return b.subarray(0, length);
}
