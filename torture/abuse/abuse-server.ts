/**
 * @module
 * The server the abuse probes attack: a real `bin/islet server` on 127.0.0.1, run inside a
 * mount namespace of its own where `/etc` is a throw-away copy and `/usr`, `/boot` and
 * `/dev` (its tmpfs submounts aside) are read-only, so that a hostile SR path the server
 * wrongly accepts writes into the copy (where the probe looks) or fails, and never touches
 * the machine's own directories. Its working directory is two levels below `/`, so a
 * relative `../../etc` lands on `/etc` as it would for a server started from a home
 * directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../test/helpers/repo-root.js';

export interface AbuseServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  /** The copy of /etc the server sees as /etc. */
  readonly etc: string;
  readonly rootPassword: string;
  stderr(): string;
  alive(): boolean;
  stop(): Promise<void>;
}

export async function startAbuseServer(o: { env?: Record<string, string>; args?: string[] } = {}): Promise<AbuseServer> {
  const base = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), 'islet-abuse-'));
  const etc = join(base, 'etc');
  await cp('/etc', etc, { recursive: true, verbatimSymlinks: true, errorOnExist: false, filter: (src) => !src.startsWith('/etc/ssl/private') });
  const dataDir = join(base, 'data');
  const rootPassword = 'torture-abuse-pw';
  const cwd = await mkdtemp('/tmp/islet-abuse-cwd-');
  const script = ['set -e', 'mount --bind "$1" /etc', 'for d in /usr /boot; do mount --bind "$d" "$d"; mount -o remount,bind,ro "$d"; done',
    'mount --rbind /dev /dev', 'mount -o remount,bind,ro /dev', 'shift', 'exec "$@"'].join('\n');
  const child: ChildProcess = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', etc,
    process.execPath, join(repoRoot(), 'bin', 'islet'), 'server', '--data-dir', dataDir, '--listen', '127.0.0.1:0',
    '--root-password', rootPassword, '--spawn-hypervisor', 'false', ...(o.args ?? [])],
  { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`islet did not become ready:\n${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`islet exited ${code}:\n${err}`)); });
  }).catch(async (e: unknown) => {
    child.kill('SIGKILL');
    await rm(base, { recursive: true, force: true });
    await rm(cwd, { recursive: true, force: true });
    throw e;
  });
  return {
    url, port: Number(new URL(url).port), pid: child.pid!, dataDir, etc, rootPassword,
    stderr: () => err,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      await rm(base, { recursive: true, force: true });
      await rm(cwd, { recursive: true, force: true });
    },
  };
}

/** CPU seconds (user + system) the process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
