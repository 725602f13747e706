/**
 * @module
 * The SR lock: one tree-changing operation at a time per SR, across every process and host
 * that reaches the directory (a shared SR is one directory seen by all hosts, like sm's SR
 * lock on NFS). Inside a process a promise chain orders the callers; across processes a
 * symbolic link does: creating it is atomic and fails if it exists, its target names the
 * holder (`pid@host#token`) and, being short, lives in the inode, so the lock can still be
 * taken on a full file system (where reads and cleanup must keep working). The holder
 * refreshes its time while it holds it. A lock left by a dead process is taken over: at
 * once when its holder was a process of this host that no longer exists, after `staleMs`
 * without refresh otherwise (a crashed host). A small file beside it, `<lock>.last`, names
 * the lock object that took the lock last, so a holder learns whether anyone else had it
 * since its own last hold (what it knows of the SR may be stale then).
 */
import { lstat, lutimes, readFile, readlink, symlink, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { backendError, isNotFound } from './sr-errors.js';

interface LockOwner {
  host: string;
  pid: number;
  token: string;
}

function encode(o: LockOwner): string {
  return `${o.pid}@${o.host}#${o.token}`;
}

function decode(target: string): Partial<LockOwner> {
  const m = /^(\d+)@(.*)#([0-9a-f]+)$/.exec(target);
  return m ? { pid: Number(m[1]), host: m[2]!, token: m[3]! } : {};
}

export interface SrLockOptions {
  /** Give up waiting after this long. */
  timeoutMs?: number;
  /** A lock not refreshed for this long belongs to a dead host. */
  staleMs?: number;
}

/** Whether a process of this machine with that pid still exists (EPERM: it does, not ours). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SrLock {
  private tail: Promise<void> = Promise.resolve();
  private readonly id = randomBytes(8).toString('hex');
  private others = true;
  private readonly timeoutMs: number;
  private readonly staleMs: number;

  constructor(
    private readonly path: string,
    opts: SrLockOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.staleMs = opts.staleMs ?? 30_000;
  }

  /**
   * While the lock is held: whether another lock object (another process, host or
   * attachment) had it between this one's last hold and this one; true the first time.
   */
  get heldByOthers(): boolean {
    return this.others;
  }

  /** Runs `fn` holding the lock. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    try {
      await prev;
      const owner = await this.acquireFile();
      await this.noteHolder();
      const refresh = setInterval(() => void lutimes(this.path, new Date(), new Date()).catch(() => undefined), Math.max(1000, this.staleMs / 6));
      refresh.unref();
      try {
        return await fn();
      } finally {
        clearInterval(refresh);
        await this.releaseFile(owner);
      }
    } finally {
      release();
    }
  }

  private async acquireFile(): Promise<LockOwner> {
    const me: LockOwner = { host: hostname(), pid: process.pid, token: randomBytes(6).toString('hex') };
    const deadline = Date.now() + this.timeoutMs;
    // Bounded in time and in immediate retries: a file system that says EEXIST to the
    // symlink and ENOENT to reading it back would otherwise keep this loop spinning.
    for (let delay = 5, quick = 0; ; delay = Math.min(delay * 2, 200)) {
      try {
        await symlink(encode(me), this.path);
        return me;
      } catch (e) {
        if ((e as { code?: string }).code !== 'EEXIST') throw e;
      }
      // A dead or silent holder is taken over even when the wait is up: refusing because
      // of a lock nobody holds would only make the caller retry.
      if (quick <= 100 && (await this.takeOverIfStale())) {
        quick++;
        continue;
      }
      if (Date.now() > deadline || quick > 100) throw backendError('LockErr', `SR lock ${this.path} is held`);
      await sleep(delay);
    }
  }

  /** Learns whether someone else took the lock since our last hold, and says we have it now. */
  private async noteHolder(): Promise<void> {
    const last = `${this.path}.last`;
    try {
      this.others = (await readFile(last, 'utf8').catch((e: unknown) => {
        if (isNotFound(e)) return '';
        throw e;
      })) !== this.id;
      // Only the holder writes it; torn by a crash, it names nobody, which is safe.
      if (this.others) await writeFile(last, this.id);
    } catch {
      // Not knowing is the same as someone else having had it (a full file system, say).
      this.others = true;
    }
  }

  /** Removes a lock whose holder is gone; true if the caller should retry at once. */
  private async takeOverIfStale(): Promise<boolean> {
    let holder: Partial<LockOwner>;
    let mtime: number;
    try {
      [holder, mtime] = await Promise.all([readlink(this.path).then(decode), lstat(this.path).then((s) => s.mtimeMs)]);
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
    const deadHere = holder.host === hostname() && holder.pid !== undefined && !pidAlive(holder.pid);
    if (!deadHere && Date.now() - mtime < this.staleMs) return false;
    await unlink(this.path).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
    return true;
  }

  private async releaseFile(owner: LockOwner): Promise<void> {
    try {
      if ((await readlink(this.path)) === encode(owner)) await unlink(this.path);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
