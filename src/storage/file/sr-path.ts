/**
 * @module
 * Where a file SR may live. `device_config:path` comes from a client, and the SR code
 * writes `sr.json`, lock files, `.journal/` and `.active/` wherever it points, so the
 * path is confined before anything touches it: absolute (never resolved against the
 * server's working directory), a directory (or a new one whose parent exists: only that
 * last component is made), writable, and, once symlinks are resolved, neither a system
 * location (`/`, `/etc`, `/proc`, `/sys`, `/dev`, `/usr`, `/boot`…) nor a pseudo file
 * system, nor a toolstack's own data directory. Every refusal is a FileSRCreate backend
 * failure that says why.
 */
import { constants } from 'node:fs';
import { access, mkdir, realpath, stat, statfs } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import { backendError, isNotFound } from './sr-errors.js';

/** Directories that can never be an SR themselves. */
const SYSTEM_DIRS = new Set([
  '/', '/bin', '/boot', '/dev', '/dev/shm', '/etc', '/home', '/lib', '/lib32', '/lib64', '/media', '/mnt',
  '/opt', '/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/var', '/var/lib', '/var/tmp',
]);
/** Trees nothing of an SR may go under (`/dev/shm` excepted: a tmpfs for scratch SRs). */
const SYSTEM_TREES = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/proc', '/run', '/sbin', '/sys', '/usr'];
const SCRATCH_TREES = ['/dev/shm'];
/** Pseudo file systems (statfs magic numbers): proc, sysfs, cgroup, cgroup2, debugfs, securityfs, bpf. */
const PSEUDO_FS = new Set([0x9fa0, 0x62656572, 0x27e0eb, 0x63677270, 0x64626720, 0x73636673, 0xcafe4a11]);
/** Files that mark a directory as an Islet toolstack's data directory. */
const DATA_DIR_MARKERS = ['pool.conf', 'pool-credential', 'api-address'];

const under = (p: string, tree: string) => p === tree || p.startsWith(`${tree}/`);

/** Fails naming the path by the `device_config` key it came in (`path`, or sm's `location`). */
function refuse(key: string, path: string, why: string): never {
  throw backendError('FileSRCreate', `device_config:${key}=${JSON.stringify(path.slice(0, 200))} ${why}`);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, (e: unknown) => {
    if (isNotFound(e)) return false;
    throw e;
  });
}

/** Refuses a resolved (symlink-free) directory that must never hold an SR. */
async function checkLocation(key: string, given: string, real: string): Promise<void> {
  if (SYSTEM_DIRS.has(real)) refuse(key, given, `is the system location ${real}; give the SR a directory of its own`);
  if (SYSTEM_TREES.some((t) => under(real, t)) && !SCRATCH_TREES.some((t) => under(real, t) && real !== t)) {
    refuse(key, given, `resolves to ${real}, inside a system location`);
  }
  const fs = await statfs(real).catch(() => undefined);
  if (fs && PSEUDO_FS.has(fs.type)) refuse(key, given, `resolves to ${real}, on a pseudo file system`);
  for (const m of DATA_DIR_MARKERS) {
    if (await exists(join(real, m))) refuse(key, given, `is a toolstack's data directory (it holds ${m})`);
  }
}

function checkSyntax(key: string, path: string): string {
  if (typeof path !== 'string' || path.length === 0) refuse(key, String(path), 'is empty');
  if (path.includes('\0')) refuse(key, path, 'contains a NUL character');
  if (path.length > 4096) refuse(key, path, 'is longer than 4096 characters');
  if (!isAbsolute(path)) refuse(key, path, 'is not an absolute path');
  return normalize(path).replace(/(.)\/+$/, '$1');
}

/**
 * The directory an SR is to be created in, checked and resolved; when it does not exist
 * yet and `create` is set, its parent must, and only the directory itself is made.
 */
export async function confineSrPath(path: string, opts: { create: boolean; key?: string }): Promise<string> {
  const key = opts.key ?? 'path';
  const norm = checkSyntax(key, path);
  let real = await realpath(norm).catch((e: unknown) => {
    if (isNotFound(e)) return undefined;
    refuse(key, path, `cannot be resolved: ${(e as Error).message}`);
  });
  if (real === undefined) {
    if (!opts.create) refuse(key, path, 'does not exist');
    const parent = await realpath(dirname(norm)).catch(() => refuse(key, path, 'has no existing parent directory'));
    if (!(await stat(parent)).isDirectory()) refuse(key, path, 'has a parent that is not a directory');
    const target = join(parent, basename(norm));
    await checkLocation(key, path, target);
    await mkdir(target).catch((e: unknown) => {
      if ((e as { code?: string }).code !== 'EEXIST') refuse(key, path, `cannot be created: ${(e as Error).message}`);
    });
    real = await realpath(target);
  }
  const st = await stat(real);
  if (!st.isDirectory()) refuse(key, path, 'is not a directory');
  await checkLocation(key, path, real);
  await access(real, constants.W_OK | constants.X_OK).catch(() => refuse(key, path, 'is not writable'));
  return real;
}

/**
 * The location checks for an SR that exists already (attach, probe, destroy): nothing is
 * made, and a directory that is gone is left for the caller to report as it does.
 */
export async function confineExistingSrPath(path: string, key = 'path'): Promise<string> {
  const norm = checkSyntax(key, path);
  const real = await realpath(norm).catch((e: unknown) => {
    if (isNotFound(e)) return undefined;
    refuse(key, path, `cannot be resolved: ${(e as Error).message}`);
  });
  if (real === undefined) return norm;
  await checkLocation(key, path, real);
  return real;
}
