/**
 * @module
 * The few file-system moves the file SR builds its crash safety on: a file is complete and
 * fsync'd before it is renamed into place, and the directory is fsync'd after every rename
 * and unlink, so after a crash a name either points at the old file or the complete new
 * one. Small JSON documents (SR identity, journal records, VDI flags) are written the same
 * way.
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
  const tmp = tmpName(path);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  await fsyncDir(dirname(path));
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
  await fsyncPath(tmp);
  await rename(tmp, path);
  await fsyncDir(dirname(path));
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

export async function linkDurable(from: string, to: string): Promise<void> {
  await link(from, to);
  await fsyncDir(dirname(to));
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
