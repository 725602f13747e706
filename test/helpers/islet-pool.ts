/**
 * @module
 * Runs a real local pool for a test: `bin/islet pool up` (compiled, from `dist/`) in a
 * fresh temporary directory, N hosts each made of a toolstack process and a hypervisor
 * simulator process, joined into one pool with a shared SR. Heartbeats and liveness are
 * sped up for tests (0.5 s / 8 s unless `env` says otherwise). The returned handle
 * crashes, restarts and inspects hosts, and `stop()` ends every process it started and
 * removes the directory.
 *
 * @example
 * const pool = await startPool({ hosts: 3 });
 * const c = await pool.client();          // logged in to the master
 * await pool.kill9Host(2);                // host 2 crashes
 * await pool.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XapiClient } from '../../src/client/xapi-client.js';
import {
  supervisorHostAction, supervisorSocket, supervisorStatus, type HostStatus, type SupervisorStatus,
} from '../../src/pool/supervisor/supervisor-client.js';
import { repoRoot } from './repo-root.js';

export interface PoolOptions {
  hosts?: number;
  rootPassword?: string;
  /** Simulated live-migration rate in MiB/s (0: instant). */
  migrationRate?: number;
  /** Memory of each host's simulator (`8G`…). */
  memory?: string;
  /** One listen address per host (all on one port), e.g. 127.0.0.1, 127.0.0.2… */
  addresses?: string[];
  /** Extra environment for the supervisor and every process it starts. */
  env?: Record<string, string>;
  /** Use this directory (kept on stop) instead of a fresh temporary one. */
  dir?: string;
  /** Extra `islet pool up` arguments (`--update-key FILE`…). */
  args?: string[];
}

export interface PoolHost {
  readonly index: number;
  readonly url: string;
  readonly port: number;
  readonly address: string;
  readonly dataDir: string;
}

export interface IsletPool {
  readonly dir: string;
  readonly rootPassword: string;
  readonly hosts: PoolHost[];
  readonly masterUrl: string;
  readonly supervisor: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** What the supervisor reports about each host (state, pids, boot time). */
  status(): Promise<SupervisorStatus>;
  hostStatus(i: number): Promise<HostStatus>;
  /** A client logged in as root (to the master: a member's HOST_IS_SLAVE is followed). */
  client(i?: number): Promise<XapiClient>;
  /** The host ref of host i (its name label is `host<i>`). */
  hostRef(i: number): Promise<string>;
  /** SIGKILL of host i's simulator and toolstack: the host crashes and stays down. */
  kill9Host(i: number): Promise<void>;
  /** SIGKILL of host i's toolstack only: the supervisor's watchdog starts it again. */
  kill9Toolstack(i: number): Promise<void>;
  /** Starts a host that is down (after a crash or shutdown); resolves once it serves. */
  startHost(i: number): Promise<void>;
  /** Toolstack and hypervisor logs of host i, for failure messages. */
  logs(i: number): string;
  stop(): Promise<void>;
}

/**
 * Polls `probe` until it returns a truthy value (returned) or `timeoutMs` passes. The
 * pause between probes starts at 20 ms and doubles up to `everyMs`: most conditions hold
 * within a few hundred milliseconds, and a fixed 200 ms pause made each wait ~100 ms
 * longer than the thing it waited for, over a hundred waits a run.
 */
export async function waitFor<T>(probe: () => Promise<T> | T, timeoutMs = 30_000, what = 'condition', everyMs = 200): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let pause = Math.min(20, everyMs);
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, everyMs);
  }
}

/** A port free on every one of `addresses` (for a one-port-per-address pool). */
async function freePortOn(addresses: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const ok = await Promise.all(addresses.map((a) => new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, a, () => s.close(() => resolve(true)));
    })));
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no free port');
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startPool(o: PoolOptions = {}): Promise<IsletPool> {
  const n = o.hosts ?? 3;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'islet-pool-')));
  const rootPassword = o.rootPassword ?? 'pool-test-pw';
  const basePort = o.addresses ? await freePortOn(o.addresses) : 0;
  const args = [
    join(repoRoot(), 'bin', 'islet'), 'pool', 'up', '--hosts', String(n), '--data-dir', dir,
    '--base-port', String(basePort), '--root-password', rootPassword,
    '--migration-rate', String(o.migrationRate ?? 0),
    ...(o.memory ? ['--memory', o.memory] : []),
    ...(o.addresses ? ['--addresses', o.addresses.join(',')] : []),
    ...(o.args ?? []),
  ];
  const env = {
    ...process.env,
    ISLET_HEARTBEAT_MS: '500',
    ISLET_LIVENESS_TIMEOUT_MS: '8000',
    ISLET_TOOLSTACK_RESTART_DELAY_MS: '500',
    ...o.env,
  };
  const supervisor = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  supervisor.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  supervisor.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((r) => supervisor.once('exit', () => r()));
  const seenPids = new Set<number>();

  const cleanup = async () => {
    if (supervisor.exitCode === null && supervisor.signalCode === null) {
      supervisor.kill('SIGTERM');
      const t = setTimeout(() => supervisor.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    }
    // Whatever the supervisor could not stop (it was killed, say) is stopped here.
    for (const pid of seenPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (!o.dir) await rm(dir, { recursive: true, force: true });
  };

  let masterUrl: string;
  try {
    masterUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`pool did not become ready:\n${out}\n${err}`)), 120_000);
      supervisor.stdout!.on('data', () => {
        const m = /^pool ready (\S+)$/m.exec(out);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
      supervisor.once('exit', (code) => { clearTimeout(timer); reject(new Error(`islet pool up exited ${code}:\n${out}\n${err}`)); });
    });
  } catch (e) {
    await cleanup();
    throw e;
  }

  const socket = supervisorSocket(dir);
  const status = async () => {
    const s = await supervisorStatus(socket);
    for (const h of s.hosts) for (const pid of [h.toolstackPid, h.hypervisorPid]) if (pid) seenPids.add(pid);
    return s;
  };
  const first = await status();
  const hosts: PoolHost[] = first.hosts.map((h) => ({ index: h.index, url: h.url, port: h.port, address: h.address, dataDir: h.dataDir }));

  const pool: IsletPool = {
    dir, rootPassword, hosts, masterUrl, supervisor,
    stdout: () => out,
    stderr: () => err,
    status,
    hostStatus: async (i) => (await status()).hosts[i]!,
    client: async (i) => {
      const c = new XapiClient({ url: i === undefined ? masterUrl : hosts[i]!.url });
      await c.login('root', rootPassword, { originator: 'islet-pool-test' });
      return c;
    },
    hostRef: async (i) => {
      const c = await pool.client();
      try {
        const refs = (await c.call('host.get_by_name_label', `host${i}`)) as string[];
        if (refs.length !== 1) throw new Error(`host${i}: ${refs.length} hosts by that name`);
        return refs[0]!;
      } finally {
        await c.logout().catch(() => undefined);
        c.close();
      }
    },
    kill9Host: async (i) => {
      const h = await pool.hostStatus(i);
      for (const pid of [h.hypervisorPid, h.toolstackPid]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      await waitFor(async () => !alive(h.hypervisorPid) && !alive(h.toolstackPid), 10_000, `host${i} processes to die`);
      await waitFor(async () => ['crashed', 'down'].includes((await pool.hostStatus(i)).state), 10_000, `host${i} to be seen down`);
    },
    kill9Toolstack: async (i) => {
      const h = await pool.hostStatus(i);
      if (h.toolstackPid) process.kill(h.toolstackPid, 'SIGKILL');
      await waitFor(() => !alive(h.toolstackPid), 10_000, `host${i} toolstack to die`);
    },
    startHost: async (i) => {
      await supervisorHostAction(socket, i, 'start');
      await status();
    },
    logs: (i) => {
      const read = (f: string) => { try { return readFileSync(join(hosts[i]!.dataDir, f), 'utf8'); } catch { return ''; } };
      return `--- host${i} toolstack.log\n${read('toolstack.log')}\n--- host${i} hypervisor.log\n${read('hypervisor.log')}`;
    },
    stop: cleanup,
  };
  return pool;
}
