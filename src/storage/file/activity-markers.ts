/**
 * @module
 * Which disks of a shared SR are open for I/O elsewhere. An attachment can pause only the
 * disks it opened itself; a disk another host (or another attachment) has open must not
 * have its files renamed or rewritten under it. So each activation leaves an empty marker
 * file `.active/<vdi>#<host>#<pid>#<attachment>` for as long as it lasts, made under the SR
 * lock, and tree changes leave marked disks alone (snapshot, resize, destroy refuse with
 * VDI_IN_USE; GC skips what would need them paused). Markers of dead processes of this host
 * are removed when seen; those of another host stay until that host attaches again (or an
 * administrator removes them).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isNotFound } from './sr-errors.js';
import { pidAlive } from './sr-lock.js';

export class ActivityMarkers {
  readonly dir: string;
  private readonly token = randomBytes(6).toString('hex');

  constructor(srDir: string) {
    this.dir = join(srDir, '.active');
  }

  async init(): Promise<void> {
    // One level only: the SR directory exists, and a recursive mkdir can spin for ever on
    // a file system that answers ENOENT and EEXIST alike (/proc).
    await mkdir(this.dir).catch((e: unknown) => {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    });
  }

  private path(uuid: string): string {
    return join(this.dir, `${uuid}#${hostname()}#${process.pid}#${this.token}`);
  }

  async add(uuid: string): Promise<void> {
    // Empty: it takes an inode but no data block, so a full SR can still open its disks.
    await (await open(this.path(uuid), 'w')).close();
  }

  async remove(uuid: string): Promise<void> {
    await unlink(this.path(uuid)).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }

  /** Disks open in other attachments; markers of dead processes of this host are dropped. */
  async foreign(): Promise<Set<string>> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (isNotFound(e)) return new Set();
      throw e;
    }
    const out = new Set<string>();
    for (const n of names) {
      const parts = n.split('#');
      if (parts.length < 4) continue;
      const token = parts.pop()!;
      const pid = Number(parts.pop());
      const uuid = parts.shift()!;
      const host = parts.join('#');
      if (token === this.token && pid === process.pid) continue;
      if (host === hostname() && !pidAlive(pid)) {
        await unlink(join(this.dir, n)).catch(() => undefined);
        continue;
      }
      out.add(uuid);
    }
    return out;
  }
}
