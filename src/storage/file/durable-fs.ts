/**
 * @module
 * The few file-system moves the file SR builds its crash safety on: a file is complete and
 * fsync'd before it is renamed into place, and the directory is fsync'd after every rename
 * and unlink, so after a crash a name either points at the old file or the complete new
 * one. Small JSON documents (SR identity, journal records, VDI flags) are written the same
 * way. The batch forms do the same for several files at once and share the barriers: the
 * files are fsync'd concurrently (the file system commits them together) and each directory
 * is fsync'd once for all the names changed in it.
 */
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isNotFound } from './sr-errors.js';

export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export const fsyncDir = fsyncPath;

/** The temporary name a file is built under before it is renamed to `path`. */
export function tmpName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp`);
}

/** Writes `text` to `path` atomically and durably. */
export async function writeFileDurable(path: string, text: string): Promise<void> {
  await writeFilesDurable([[path, text]]);
}

/** Fsyncs each distinct directory of `paths` once. */
export async function fsyncDirsOf(paths: Iterable<string>): Promise<void> {
  await Promise.all([...new Set([...paths].map((p) => dirname(p)))].map(fsyncDir));
}

/** Writes each `[path, text]` atomically; durable together when it returns. */
export async function writeFilesDurable(files: ReadonlyArray<readonly [string, string]>): Promise<void> {
  await writeFilesSynced(files.map(([path, text]) => [tmpName(path), text] as const));
  await publishAll(files.map(([path]) => [tmpName(path), path] as const), { synced: true });
}

/** Writes each temporary `[path, text]` (replacing the file) and fsyncs it; on failure none is left. */
export async function writeFilesSynced(files: ReadonlyArray<readonly [string, string]>): Promise<void> {
  const written = await Promise.allSettled(files.map(async ([path, text]) => {
    const fh = await open(path, 'w');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }));
  const failed = written.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(files.map(([path]) => unlink(path).catch(() => undefined)));
    throw failed.reason;
  }
}

/** Settles every promise, then throws the first failure (so nothing is left running). */
export async function allSettledOrThrow<T>(work: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const rs = await Promise.allSettled(work);
  const failed = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return rs.map((r) => (r as PromiseFulfilledResult<T>).value);
}

export async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

/** Renames a complete file into place durably (the file itself fsync'd first). */
export async function publish(tmp: string, path: string): Promise<void> {
  await publishAll([[tmp, path]]);
}

/**
 * Renames each complete `[tmp, path]` into place, durable together when it returns; the
 * temporaries are fsync'd first unless the caller did (`synced`).
 */
export async function publishAll(moves: ReadonlyArray<readonly [string, string]>, opts: { synced?: boolean } = {}): Promise<void> {
  if (!opts.synced) await allSettledOrThrow(moves.map(([tmp]) => fsyncPath(tmp)));
  for (const [tmp, path] of moves) await rename(tmp, path);
  await fsyncDirsOf(moves.map(([, path]) => path));
}

/** Removes those of `paths` present, durably; returns the ones that were there. */
export async function removeAllDurable(paths: readonly string[]): Promise<string[]> {
  const gone = new Set<string>();
  const rs = await Promise.allSettled(paths.map(async (p) => {
    try {
      await unlink(p);
      gone.add(p);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }));
  // What did go is made durable even when another unlink failed.
  await fsyncDirsOf(gone);
  const failed = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return paths.filter((p) => gone.has(p));
}

/** Removes `path` if present; true if it was there. */
export async function removeDurable(path: string): Promise<boolean> {
  try {
    await unlink(path);
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
  await fsyncDir(dirname(path));
  return true;
}

/** Hard-links each `[from, to]`, durable together when it returns. */
export async function linkAllDurable(links: ReadonlyArray<readonly [string, string]>): Promise<void> {
  for (const [from, to] of links) await link(from, to);
  await fsyncDirsOf(links.map(([, to]) => to));
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** True when both names are the same inode (a hard link), false if either is missing. */
export async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Bytes really allocated to the file (st_blocks), 0 if it is gone. */
export async function allocatedBytes(path: string): Promise<number> {
  try {
    return (await stat(path)).blocks * 512;
  } catch (e) {
    if (isNotFound(e)) return 0;
    throw e;
  }
}
