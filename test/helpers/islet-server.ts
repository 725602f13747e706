/**
 * @module
 * Starts a real `bin/islet server` process on 127.0.0.1 on a port the OS picks, in a
 * fresh temporary data directory, and stops it (and removes the directory) afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './repo-root.js';
import { stopChild } from './stop-child.js';

export interface IsletProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly rootPassword: string;
  readonly child: ChildProcess;
  /** Output the server wrote to stderr so far, for failure messages. */
  stderr(): string;
  /** SIGKILL, as a crash would. */
  kill9(): Promise<void>;
  /** Starts it again on the same data directory and port. */
  restart(): Promise<IsletProcess>;
  /** Stops the server and the hypervisor simulator it started (which outlives a server crash). */
  stop(): Promise<void>;
  /** The pid of the host's hypervisor simulator, if one was started. */
  hypervisorPid(): Promise<number | undefined>;
  /** Kills the hypervisor simulator (SIGKILL: the host's domains are gone) and waits for it to end. */
  killHypervisor(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  rootPassword?: string;
  dataDir?: string;
  port?: number;
  env?: Record<string, string>;
  /** Options for the server's node itself (say `--cpu-prof`), before the script. */
  nodeArgs?: string[];
  /** Remove the data directory on stop; the default when the helper made it. */
  ownsDataDir?: boolean;
  /** Extra `islet server` arguments. */
  args?: string[];
  /** Give no root password, as a new user does: the server generates one (`rootPassword` is then ''). */
  generatedPassword?: boolean;
}

async function readPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(join(dataDir, 'hypervisor', 'pid'), 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether `pid` still runs; an exited process nobody reaped (a zombie) does not. */
const isAlive = (pid: number) => {
  try { process.kill(pid, 0); } catch { return false; }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};

async function killPid(pid: number | undefined, signal: NodeJS.Signals): Promise<void> {
  if (pid === undefined || !isAlive(pid)) return;
  try { process.kill(pid, signal); } catch { return; }
  for (let i = 0; i < 200 && isAlive(pid); i++) {
    if (i === 100) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startIslet(o: StartOptions = {}): Promise<IsletProcess> {
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'islet-test-')));
  const rootPassword = o.generatedPassword ? '' : (o.rootPassword ?? 'test-root-pw');
  const bin = join(repoRoot(), 'bin', 'islet');
  const password = rootPassword ? ['--root-password', rootPassword] : [];
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), bin, 'server', '--data-dir', dataDir, '--listen', `127.0.0.1:${o.port ?? 0}`, ...password, ...(o.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const ready = new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`islet did not become ready:\n${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`islet exited ${code}:\n${err}`)); });
  });
  const url = await ready.catch(async (e: unknown) => {
    // A server that never became ready may have started its detached hypervisor simulator.
    await stopChild(child);
    await killPid(await readPid(dataDir), 'SIGTERM');
    if (!o.dataDir) await rm(dataDir, { recursive: true, force: true }); // made by this very call
    throw e;
  });
  const port = Number(new URL(url).port);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const self: IsletProcess = {
    url, port, dataDir, rootPassword, child,
    stderr: () => err,
    kill9: async () => { child.kill('SIGKILL'); await exited; },
    restart: () => startIslet({ ...o, dataDir, port, ownsDataDir: o.ownsDataDir ?? !o.dataDir }),
    hypervisorPid: () => readPid(dataDir),
    killHypervisor: async (signal = 'SIGKILL') => killPid(await readPid(dataDir), signal),
    stop: async () => {
      const hvPid = await readPid(dataDir);
      await stopChild(child);
      await killPid(hvPid, 'SIGTERM');
      if (o.ownsDataDir ?? !o.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}

/**
 * Starts a server whose arguments name a port the test must know beforehand (found free by
 * `pickPort`, bound by the child a moment later). Another process may take that port in
 * between; the child then exits with EADDRINUSE and is started again on a fresh port.
 */
export async function startIsletOnFreePort(
  options: (port: number) => StartOptions, pickPort: () => Promise<number>, attempts = 5,
): Promise<IsletProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startIslet(options(await pickPort()));
    } catch (e) {
      if (attempt >= attempts || !/EADDRINUSE/.test(String(e))) throw e;
    }
  }
}
