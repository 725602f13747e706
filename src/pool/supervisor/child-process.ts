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
  /** When the supervisor asked it to stop (`stopChild`), so that its log says how long it took. */
  stopAskedAt?: number;
}

/** How a stop went: how long the process took to exit, and whether it had to be killed. */
export interface StopOutcome {
  readonly ms: number;
  readonly killed: boolean;
}

/**
 * How long a toolstack or simulator may take to exit after SIGTERM before SIGKILL. A
 * toolstack answers its waiting long polls, lets answers under way finish (up to 2 s of
 * its own), then stops its pool link, NBD, storage and database: about 0.1 s measured with
 * VMs running, disks on a shared SR and an event.from waiting, so the 10 s here leave room
 * for that 2 s drain on a slow, loaded machine. A kill loses what the stop would have done
 * (a clean database close, released locks) and is reported; `ISLET_STOP_GRACE_MS` overrides.
 */
export function stopGraceMs(): number {
  const v = Number(process.env.ISLET_STOP_GRACE_MS);
  return Number.isFinite(v) && v > 0 ? v : 10_000;
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
    const asked = started?.stopAskedAt;
    const after = asked === undefined ? '' : ` ${Date.now() - asked} ms after it was asked to stop`;
    log.write(`--- ${new Date().toISOString()} ${o.label} exited (${signal ?? code})${after}\n`);
    log.end();
    r();
  }));
  let started: ReadyChild | undefined;
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
        started = { child, address: m[1]!, exited };
        resolve(started);
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

/** Sends `signal`, then SIGKILL after `graceMs`, and waits for the exit; says whether the kill was needed. */
export async function stopChild(c: ReadyChild | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = stopGraceMs()): Promise<StopOutcome> {
  if (!c || c.child.exitCode !== null || c.child.signalCode !== null) return { ms: 0, killed: false };
  const start = Date.now();
  c.stopAskedAt = start;
  c.child.kill(signal);
  let killed = signal === 'SIGKILL';
  const t = setTimeout(() => {
    killed = true;
    c.child.kill('SIGKILL');
  }, graceMs);
  await c.exited;
  clearTimeout(t);
  return { ms: Date.now() - start, killed };
}

export function isRunning(c: ReadyChild | undefined): boolean {
  return !!c && c.child.exitCode === null && c.child.signalCode === null;
}
