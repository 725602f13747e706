/**
 * @module
 * The local file a download is saved in (`vdi-export`, `vm-export`, `pool-dump-database`),
 * made as xe's client makes it: a new file, readable by its owner alone. A file already
 * there is never overwritten, and a path that cannot be created fails as xe fails it
 * (`Operation failed. Error: Sys_error("<file>: File exists")`). Here the file is made
 * before the transfer starts, so such a command fails before the server does any work, and
 * it is removed again when the transfer fails, so a cut download is never left looking
 * like a whole one.
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { ClientFatal } from '../cli-errors.js';

/** The C library's words for the usual reasons (xe prints strerror's), else libuv's. */
const STRERROR: Record<string, string> = {
  EEXIST: 'File exists',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device',
};

function reason(e: unknown): string {
  const { code, errno } = e as NodeJS.ErrnoException;
  return (code !== undefined ? STRERROR[code] : undefined)
    ?? (errno !== undefined ? getSystemErrorMap().get(errno)?.[1] : undefined)
    ?? (e as Error).message;
}

/** Runs `transfer` into `filename`, created new first and removed if the transfer fails. */
export async function intoNewFile<T>(filename: string, transfer: () => Promise<T>): Promise<T> {
  try {
    closeSync(openSync(filename, 'wx', 0o600));
  } catch (e) {
    // xe's client prints the OCaml exception its open raised, as it raised it.
    throw new ClientFatal(`Operation failed. Error: Sys_error(${JSON.stringify(`${filename}: ${reason(e)}`)})\n`);
  }
  try {
    return await transfer();
  } catch (e) {
    rmSync(filename, { force: true });
    throw e;
  }
}
