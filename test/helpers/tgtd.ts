/**
 * @module
 * tgtd (the Linux SCSI target framework's userspace daemon) as a reference iSCSI target
 * for tests and the benchmark. tgtd keeps its control socket in `/var/run/tgtd`, which
 * only root may write; so it runs in a user + mount namespace (`unshare --user
 * --map-root-user --mount`, no real privilege needed) where a private tmpfs covers `/run`
 * and the test's own directory is bind-mounted on `/run/tgtd`. Every `tgtadm` call enters
 * a namespace made the same way, so it finds the same socket. The portal is 127.0.0.1 on a
 * free port above 1024. tgtd ignores SIGTERM, so `stop` deletes its targets and kills it.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hasEnded } from './stop-child.js';

const run = promisify(execFile);
const NS = 'mount -t tmpfs none /run && mkdir -p /run/tgtd && mount --bind "$0" /run/tgtd && exec "$@"';

/** Whether an external tool is on PATH; on CI a missing tool fails the test instead. */
export function haveTool(name: string): boolean {
  const ok = spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
  if (!ok && process.env.CI === 'true') throw new Error(`${name} is required on CI (install it in .ci/run)`);
  return ok;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** tgtd started but holds no portal on its port: someone else took the port first. */
class PortalNotBound extends Error {}

export interface TgtdLun {
  lun: number;
  file: string;
  thin?: boolean;
}

export interface TgtdOptions {
  targetIqn: string;
  luns: TgtdLun[];
  chap?: { user: string; secret: string };
  mutualChap?: { user: string; secret: string };
  /** Initiator names allowed; default every initiator (address ACL ALL). */
  initiators?: string[];
  port?: number;
  /** Target parameters (`--name K --value V`), e.g. nop_interval. */
  params?: Record<string, string>;
}

export class Tgtd {
  private proc: ChildProcess | undefined;
  private stderr = '';

  private constructor(readonly dir: string, private portNumber: number, readonly opts: TgtdOptions) {}

  /**
   * The port is found free here and bound by tgtd a moment later; another process may take
   * it in between (tgtd then runs without a portal, and the test would talk to whoever got
   * it), so a portal tgtd could not bind is tried again on another free port.
   */
  static async start(opts: TgtdOptions): Promise<Tgtd> {
    const dir = await mkdtemp(join(tmpdir(), 'tgtd-'));
    const t = new Tgtd(dir, opts.port ?? (await freePort()), opts);
    for (let attempt = 1; ; attempt++) {
      try {
        await t.launch();
        return t;
      } catch (e) {
        if (!(e instanceof PortalNotBound) || opts.port !== undefined || attempt === 5) {
          await t.stop();
          throw e;
        }
        t.portNumber = await freePort();
      }
    }
  }

  get port(): number {
    return this.portNumber;
  }

  /** tgtd's process id (unshare and sh exec into it), for its CPU use; undefined when stopped. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get portal(): string {
    return `127.0.0.1:${this.port}`;
  }

  async tgtadm(...args: string[]): Promise<string> {
    try {
      const { stdout } = await run('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', NS, this.dir, 'tgtadm', '-C', '1', ...args], { timeout: 20_000 });
      return stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`tgtadm ${args.join(' ')}: ${err.stderr?.trim() || err.message}`);
    }
  }

  /** Starts tgtd and configures the target (again, after `kill`). */
  async launch(): Promise<void> {
    this.stderr = '';
    const p = spawn('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', NS, this.dir, 'tgtd', '-f', '--iscsi', `portal=127.0.0.1:${this.port}`, '-C', '1'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    p.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.proc = p;
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await this.tgtadm('--op', 'show', '--mode', 'system');
        break;
      } catch (e) {
        if (p.exitCode !== null) throw new Error(`tgtd exited: ${this.stderr}`);
        if (Date.now() > deadline) throw new Error(`tgtd did not start: ${(e as Error).message} ${this.stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // tgtd keeps running when it cannot bind its portal (the port was taken meanwhile).
    if (!(await this.tgtadm('--lld', 'iscsi', '--op', 'show', '--mode', 'portal')).includes(`Portal: ${this.portal},`)) {
      await this.kill();
      throw new PortalNotBound(`tgtd could not listen on ${this.portal}: ${this.stderr.trim()}`);
    }
    const o = this.opts;
    await this.tgtadm('--lld', 'iscsi', '--op', 'new', '--mode', 'target', '--tid', '1', '-T', o.targetIqn);
    for (const l of o.luns) {
      await this.tgtadm('--lld', 'iscsi', '--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', String(l.lun), '-b', l.file);
      if (l.thin) await this.tgtadm('--lld', 'iscsi', '--op', 'update', '--mode', 'logicalunit', '--tid', '1', '--lun', String(l.lun), '--params', 'thin_provisioning=1');
    }
    for (const [k, v] of Object.entries(o.params ?? {})) {
      await this.tgtadm('--lld', 'iscsi', '--op', 'update', '--mode', 'target', '--tid', '1', '--name', k, '--value', v);
    }
    if (o.initiators) {
      for (const i of o.initiators) await this.tgtadm('--lld', 'iscsi', '--op', 'bind', '--mode', 'target', '--tid', '1', '--initiator-name', i);
    } else {
      await this.tgtadm('--lld', 'iscsi', '--op', 'bind', '--mode', 'target', '--tid', '1', '-I', 'ALL');
    }
    if (o.chap) {
      await this.tgtadm('--lld', 'iscsi', '--op', 'new', '--mode', 'account', '--user', o.chap.user, '--password', o.chap.secret);
      await this.tgtadm('--lld', 'iscsi', '--op', 'bind', '--mode', 'account', '--tid', '1', '--user', o.chap.user);
    }
    if (o.mutualChap) {
      await this.tgtadm('--lld', 'iscsi', '--op', 'new', '--mode', 'account', '--user', o.mutualChap.user, '--password', o.mutualChap.secret);
      await this.tgtadm('--lld', 'iscsi', '--op', 'bind', '--mode', 'account', '--tid', '1', '--user', o.mutualChap.user, '--outgoing');
    }
  }

  /** Kills tgtd at once (a crash, for restart tests). */
  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || hasEnded(p)) return; // its 'exit' has come already (an exit, or a signal)
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
