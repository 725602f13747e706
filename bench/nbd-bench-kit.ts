/**
 * @module
 * Shared pieces of the NBD/VHD benchmarks: where the scratch files go, Islet's NBD server
 * in a process of its own (`nbd-serve`), `qemu-nbd` as the peer, `nbdcopy` runs timed with
 * the server's CPU use, and the small statistics every section prints (median, MB/s).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { open, readFile, statfs, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const exec = promisify(execFile);

export const MiB = 1024 * 1024;

export interface Served {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export interface Sample {
  seconds: number;
  /** CPU the server process used (user + system), when /proc tells. */
  cpu: number;
}

/** Set in the server child, so that nothing there can start another benchmark. */
export const CHILD_MARK = 'ISLET_NBD_BENCH_CHILD';
/** Per nbdcopy run: a hung copy fails the benchmark instead of blocking it. */
const COPY_TIMEOUT_MS = 10 * 60_000;

/**
 * tmpfs when it can hold `bytes` with room to spare *in memory* (tmpfs pages are RAM, shared
 * with everything else on the host), else the ordinary temp directory.
 */
export async function scratchBase(bytes: number): Promise<string> {
  const shm = await statfs('/dev/shm').catch(() => undefined);
  if (shm && shm.bavail * shm.bsize > 2 * bytes && freemem() > 2 * bytes) return '/dev/shm';
  return tmpdir();
}

export async function writeRandom(path: string, mib: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const chunk = Buffer.allocUnsafe(MiB);
    for (let i = 0; i < mib; i++) await fh.write(randomFillSync(chunk), 0, chunk.length, i * chunk.length);
  } finally {
    await fh.close();
  }
}

export async function haveTools(tools: string[]): Promise<string | undefined> {
  for (const tool of tools) {
    if (!(await exec('which', [tool]).then(() => true, () => false))) return tool;
  }
  return undefined;
}

/**
 * Islet's NBD server in its own process. `raw`: one file as export `bench`; `vhd`: every
 * VHD file of a directory, the export name being the file name (chains resolve through
 * their parent locators). Connections to one export share one device.
 */
export async function serveOurs(kind: 'raw' | 'vhd', target: string, opts: { multiConn?: boolean; plainSocket?: boolean } = {}): Promise<Served> {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const script = join(here, '..', fromSource ? 'nbd-serve.ts' : 'nbd-serve.js');
  const args = [`--${kind}`, target, ...(opts.multiConn ? ['--multi-conn'] : []), ...(opts.plainSocket ? ['--plain-socket'] : [])];
  // Never inherit execArgv: under `node -e` it holds the code that started this benchmark.
  const nodeArgs = [...(fromSource ? ['--import', 'tsx'] : []), ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'], // stdin: the child exits when we go away
    env: { ...process.env, [CHILD_MARK]: '1' },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('nbd-serve did not start')), 30_000);
    child.once('exit', () => clearTimeout(t));
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /ready (\d+)/.exec(buf);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (c) => reject(new Error(`nbd-serve exited ${c}`)));
  });
  return { port, pid: child.pid!, stop: () => stop(child) };
}

/** `qemu-nbd` serving one file as export `bench`; `-e 4` (multi-conn) when asked. */
export async function serveQemu(format: 'raw' | 'vpc', file: string, multi: boolean): Promise<Served> {
  const port = await freePort();
  const args = ['-f', format, '-b', '127.0.0.1', '-p', String(port), '-x', 'bench', '-t', ...(multi ? ['-e', '4'] : []), file];
  const child = spawn('qemu-nbd', args, { stdio: 'ignore' }); // it complains about our readiness probes
  for (let i = 0; ; i++) {
    if (await canConnect(port)) break;
    if (i > 100 || child.exitCode !== null) throw new Error('qemu-nbd did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, pid: child.pid!, stop: () => stop(child) };
}

/**
 * `nbdkit`'s file plugin serving a raw file read-only as the default export: a C server
 * built for throughput, measured as what any NBD server can reach on this machine.
 */
export async function serveNbdkit(file: string): Promise<Served> {
  const port = await freePort();
  const child = spawn('nbdkit', ['--foreground', '--readonly', '-i', '127.0.0.1', '-p', String(port), 'file', file], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    if (await canConnect(port)) break;
    if (i > 100 || child.exitCode !== null) throw new Error('nbdkit did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, pid: child.pid!, stop: () => stop(child) };
}

/** One timed `nbdcopy`, with the CPU the serving process spent meanwhile. */
export async function nbdcopy(server: Served, from: string, to: string, flags: string[] = []): Promise<Sample> {
  const cpu0 = await cpuSeconds(server.pid);
  const seconds = await timed(() => exec('nbdcopy', [...flags, from, to], { timeout: COPY_TIMEOUT_MS }));
  return { seconds, cpu: (await cpuSeconds(server.pid)) - cpu0 };
}

let ticksPerSecond: number | undefined;
/**
 * User + system CPU seconds of a process so far (0 where /proc is missing). On a shared
 * machine this is steadier than wall time, which other tenants' load distorts.
 */
export async function cpuSeconds(pid: number): Promise<number> {
  try {
    ticksPerSecond ??= Number((await exec('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return 0;
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function fmt(bytes: number, seconds: number): string {
  return `${(bytes / seconds / 1e6).toFixed(0).padStart(5)} MB/s (${seconds.toFixed(2)} s)`;
}

/** Alternates who goes first, round by round, so that drift favours nobody. */
export function alternate<T>(round: number, a: T, b: T): [T, T] {
  return round % 2 ? [b, a] : [a, b];
}

/**
 * "0.87! (goal >= 1.00)": a mark when the goal is missed. A miss that two decimals would
 * round up to the goal ("0.60! (goal >= 0.60)", a 0.598) is shown with the digits that
 * tell it apart, so that the line reads as what it is.
 */
export function ratio(value: number, goal: number): string {
  const met = value >= goal;
  let digits = 2;
  while (!met && digits < 6 && Number(value.toFixed(digits)) >= goal) digits++;
  return `${value.toFixed(digits)}${met ? '' : '!'} (goal >= ${goal.toFixed(2)})`;
}

/** One entry of `VDI.get_nbd_info`, as the benches read it. */
export interface IsletNbdInfo { address: string; port: number | string; exportname: string; cert?: string; subject?: string }

/**
 * The libnbd URI of a VDI that `VDI.get_nbd_info` announced. With `tlsDir` (network purpose
 * `nbd`) it is `nbds://` and libnbd trusts exactly the certificate the host announced: it is
 * written as `ca-cert.pem` in `tlsDir`, the layout `tls-certificates=DIR` expects. The host's
 * certificate names its address and `localhost`, so the peer check stays on. Without `tlsDir`
 * (purpose `insecure_nbd`) it is plain `nbd://`.
 */
export async function isletNbdUri(info: IsletNbdInfo, tlsDir?: string): Promise<string> {
  const name = encodeURIComponent(info.exportname);
  if (!tlsDir) return `nbd://${info.address}:${info.port}/${name}`;
  if (!info.cert) throw new Error('VDI.get_nbd_info gave no certificate for an nbd (TLS) network');
  await writeFile(join(tlsDir, 'ca-cert.pem'), info.cert);
  return `nbds://${info.address}:${info.port}/${name}?tls-certificates=${tlsDir}`;
}
