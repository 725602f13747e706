/**
 * @module
 * Shared pieces of the NBD tests: temp directories, sparse raw images with known content,
 * an Islet NBD server on 127.0.0.1 serving one file, and the external clients (nbdinfo,
 * nbdcopy, qemu-img) run as child processes with a timeout.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockDevice } from '../../../src/core/ports/block-device.js';
import { FileBlockDevice } from '../../../src/storage/nbd/file-block-device.js';
import type { NbdServerOptions } from '../../../src/storage/nbd/nbd-options.js';
import { NbdServer } from '../../../src/storage/nbd/nbd-server.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;

export function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'islet-nbd-'));
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await makeTempDir();
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Deterministic non-zero bytes, different per `seed`. */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = (x & 0xff) | 1;
  }
  return b;
}

/** A sparse file of `size` bytes holding `regions` of data and holes elsewhere. */
export async function makeRawFile(path: string, size: number, regions: { offset: number; data: Buffer }[]): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(size);
    for (const r of regions) await fh.write(r.data, 0, r.data.length, r.offset);
  } finally {
    await fh.close();
  }
}

export async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

export interface ServedFile {
  server: NbdServer;
  port: number;
  device: BlockDevice;
  uri(name?: string): string;
  close(): Promise<void>;
}

/**
 * Serves `file` as export `name` (one device shared by all connections) until `close()`.
 * `device` replaces the file when given.
 */
export async function serveFile(
  file: string | undefined,
  opts: Partial<NbdServerOptions> & { name?: string; device?: BlockDevice; readOnly?: boolean } = {},
): Promise<ServedFile> {
  const name = opts.name ?? 'disk';
  const device = opts.device ?? (await FileBlockDevice.open(file!));
  const errors: unknown[] = [];
  const server = new NbdServer({
    resolveExport: async (n) => (n === name ? { device, readOnly: opts.readOnly ?? false, release: async () => undefined } : undefined),
    onError: (e) => errors.push(e),
    ...opts,
  });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    server,
    port,
    device,
    uri: (n = name) => `nbd://127.0.0.1:${port}/${n}`,
    close: async () => {
      await server.close();
      await device.close();
    },
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never throws for a non-zero exit). */
export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * MiB }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Like `run`, but a non-zero exit fails with the tool's stderr. */
export async function runOk(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const found = new Map<string, boolean>();
/** Whether an external tool is on PATH (tests that need it skip otherwise). */
export async function has(tool: string): Promise<boolean> {
  if (!found.has(tool)) found.set(tool, (await run('sh', ['-c', `command -v ${tool}`])).code === 0);
  return found.get(tool)!;
}

/**
 * Which of `tools` are not on PATH, for a test to skip on a developer's machine. On CI
 * (`CI=true`) a missing one throws instead: CI installs every tool, and a skip there would
 * hide the tests that need it.
 */
export async function missingTools(tools: string[]): Promise<string[]> {
  const missing = (await Promise.all(tools.map(async (t) => ((await has(t)) ? '' : t)))).filter(Boolean);
  if (missing.length && process.env.CI === 'true') throw new Error(`needed on CI (install it in .ci/run): ${missing.join(', ')}`);
  return missing;
}
