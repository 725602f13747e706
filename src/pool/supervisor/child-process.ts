/**
 * @module
 * Starting one supervised process and waiting for the `ready <address>` line it prints
 * once it serves; its output goes to a log file in the host's folder, so the supervisor's
 * own output stays readable and a failure can be diagnosed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface ReadyChild {
  readonly child: ChildProcess;
  /** What followed `ready ` on the line the process printed. */
  readonly address: string;
  /** Resolves when the process has exited (whatever the reason). */
  readonly exited: Promise<void>;
}

export interface SpawnReadyOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  readonly label: string;
  readonly timeoutMs?: number;
  /** Descriptors handed to the child as fd 3, 4…. */
  readonly extraFds?: readonly number[];
}

export function spawnReady(o: SpawnReadyOptions): Promise<ReadyChild> {
  const log = createWriteStream(o.logFile, { flags: 'a' });
  log.write(`--- ${new Date().toISOString()} starting ${o.label}: ${o.args.join(' ')}\n`);
  // Its own process group: a Ctrl-C or a signal to the supervisor's group reaches the
  // supervisor alone, which then stops the hosts in order.
  const child = spawn(o.command, [...o.args], { env: o.env, stdio: ['ignore', 'pipe', 'pipe', ...(o.extraFds ?? [])], detached: true });
  const exited = new Promise<void>((r) => child.once('exit', (code, signal) => {
    log.write(`--- ${new Date().toISOString()} ${o.label} exited (${signal ?? code})\n`);
    log.end();
    r();
  }));
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => {
    log.write(d);
    tail = (tail + d.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${o.label} did not become ready within ${o.timeoutMs ?? 60_000} ms:\n${tail}`));
    }, o.timeoutMs ?? 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      log.write(d);
      if (ready) return;
      out += d.toString();
      const m = /^ready (\S+)\s*$/m.exec(out);
      if (m) {
        ready = true;
        clearTimeout(timer);
        log.write(`--- ${new Date().toISOString()} ${o.label} ready\n`);
        resolve({ child, address: m[1]!, exited });
      }
    });
    child.once('exit', (code, signal) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`${o.label} exited (${signal ?? code}) before it was ready:\n${tail}`));
    });
    child.once('error', (e) => {
      if (ready) return;
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Sends `signal`, then SIGKILL after `graceMs`, and waits for the exit. */
export async function stopChild(c: ReadyChild | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (!c || c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill(signal);
  const t = setTimeout(() => c.child.kill('SIGKILL'), graceMs);
  await c.exited;
  clearTimeout(t);
}

export function isRunning(c: ReadyChild | undefined): boolean {
  return !!c && c.child.exitCode === null && c.child.signalCode === null;
}
