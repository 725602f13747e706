/**
 * @module
 * NBD data-path throughput: `nbdcopy` reading a 1 GiB export into a file and writing a
 * file into it, against Islet's NBD server (its own process, raw file adapter) and
 * against `qemu-nbd -f raw` serving the same file, beside a plain `cp` of the file.
 * Files live on tmpfs when it has room (in RAM too), so that the disk does not drown the
 * difference. Each case runs once with a single connection and once with multi-conn (ours `multiConn`,
 * qemu-nbd `-e 4`); both servers stay up across rounds, which alternate between them;
 * median of the rounds. Goal: islet/qemu-nbd >= 1.0.
 *
 * Env: BENCH_NBD_MIB (default 1024), BENCH_ROUNDS (default 3).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, readFile, rm, statfs } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);

interface Served {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

interface Sample {
  seconds: number;
  /** CPU the server process used (user + system), when /proc tells. */
  cpu: number;
}

/** Set in the server child, so that nothing there can start another benchmark. */
const CHILD_MARK = 'ISLET_NBD_BENCH_CHILD';
/** Per nbdcopy run: a hung copy fails the benchmark instead of blocking it. */
const COPY_TIMEOUT_MS = 10 * 60_000;

export async function run(): Promise<void> {
  if (process.env[CHILD_MARK]) throw new Error('nbd-bench must not run inside its own server process');
  const mib = Number(process.env.BENCH_NBD_MIB ?? 1024);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  for (const tool of ['nbdcopy', 'qemu-nbd']) {
    if (!(await exec('which', [tool]).then(() => true, () => false))) {
      console.log(`nbd: skipped, ${tool} is not installed`);
      return;
    }
  }
  const base = await scratchBase(3 * mib * 1024 * 1024);
  const dir = await mkdtemp(join(base, 'islet-nbd-bench-'));
  try {
    const src = join(dir, 'src.raw');
    const served = join(dir, 'served.raw');
    const out = join(dir, 'out.raw');
    await writeRandom(src, mib);
    await exec('cp', [src, served]);
    const size = mib * 1024 * 1024;
    console.log(`nbd: nbdcopy of a ${mib} MiB raw image (random data) on ${base}, median of ${rounds} rounds`);

    const cpTimes: number[] = [];
    for (let i = 0; i < rounds; i++) {
      await rm(out, { force: true });
      cpTimes.push(await timed(() => exec('cp', [src, out])));
    }
    const cp = median(cpTimes);
    console.log(`  cp             ${fmt(size, cp)}`);

    for (const multi of [false, true]) {
      // Both servers stay up for all rounds (one warm-up copy each, untimed), so that
      // neither pays process start-up or JIT warm-up inside a measurement.
      const servers = { ours: await serveOurs(served, multi), qemu: await serveQemu(served, multi) };
      const t = { ours: { read: [] as Sample[], write: [] as Sample[] }, qemu: { read: [] as Sample[], write: [] as Sample[] } };
      try {
        const uri = (who: 'ours' | 'qemu'): string => `nbd://127.0.0.1:${servers[who].port}/bench`;
        const copy = async (who: 'ours' | 'qemu', from: string, to: string): Promise<Sample> => {
          const cpu0 = await cpuSeconds(servers[who].pid);
          const seconds = await timed(() => exec('nbdcopy', [from, to], { timeout: COPY_TIMEOUT_MS }));
          return { seconds, cpu: (await cpuSeconds(servers[who].pid)) - cpu0 };
        };
        for (const who of ['ours', 'qemu'] as const) await copy(who, uri(who), 'null:');
        for (let i = 0; i < rounds; i++) {
          for (const who of i % 2 ? (['qemu', 'ours'] as const) : (['ours', 'qemu'] as const)) {
            await rm(out, { force: true });
            t[who].read.push(await copy(who, uri(who), out));
            t[who].write.push(await copy(who, src, uri(who)));
          }
        }
      } finally {
        await servers.ours.stop();
        await servers.qemu.stop();
      }
      const label = multi ? 'multi-conn' : '1 conn';
      for (const op of ['read', 'write'] as const) {
        const ours = median(t.ours[op].map((x) => x.seconds));
        const qemu = median(t.qemu[op].map((x) => x.seconds));
        const oursCpu = median(t.ours[op].map((x) => x.cpu));
        const qemuCpu = median(t.qemu[op].map((x) => x.cpu));
        console.log(`  ${op.padEnd(5)} ${label.padEnd(10)} islet ${fmt(size, ours)}   qemu-nbd ${fmt(size, qemu)}   ` +
          `islet/qemu-nbd ${(qemu / ours).toFixed(2)}  islet/cp ${(cp / ours).toFixed(2)}  (goal islet/qemu-nbd >= 1.00)`);
        if (oursCpu > 0 && qemuCpu > 0) {
          console.log(`  ${''.padEnd(16)} server CPU per GiB: islet ${(oursCpu / (size / 2 ** 30)).toFixed(2)} s, ` +
            `qemu-nbd ${(qemuCpu / (size / 2 ** 30)).toFixed(2)} s, qemu-nbd/islet ${(qemuCpu / oursCpu).toFixed(2)}`);
        }
      }
    }
    await exec('cmp', [src, served]); // the last write round must have landed byte for byte
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * tmpfs when it can hold the three images with room to spare *in memory* (tmpfs pages are
 * RAM, shared with everything else on the host), else the ordinary temp directory.
 */
async function scratchBase(bytes: number): Promise<string> {
  const shm = await statfs('/dev/shm').catch(() => undefined);
  if (shm && shm.bavail * shm.bsize > 2 * bytes && freemem() > 3 * bytes) return '/dev/shm';
  return tmpdir();
}

async function writeRandom(path: string, mib: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    for (let i = 0; i < mib; i++) await fh.write(randomFillSync(chunk), 0, chunk.length, i * chunk.length);
  } finally {
    await fh.close();
  }
}

async function serveOurs(file: string, multi: boolean): Promise<Served> {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const script = join(here, '..', fromSource ? 'nbd-serve.ts' : 'nbd-serve.js');
  // Never inherit execArgv: under `node -e` it holds the code that started this benchmark.
  const child = spawn(process.execPath, [...(fromSource ? ['--import', 'tsx'] : []), script, file, ...(multi ? ['--multi-conn'] : [])], {
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

async function serveQemu(file: string, multi: boolean): Promise<Served> {
  const port = await freePort();
  const child = spawn('qemu-nbd', ['-f', 'raw', '-b', '127.0.0.1', '-p', String(port), '-x', 'bench', '-t', ...(multi ? ['-e', '4'] : []), file], {
    stdio: 'ignore', // it complains about our readiness probes
  });
  for (let i = 0; ; i++) {
    if (await canConnect(port)) break;
    if (i > 100 || child.exitCode !== null) throw new Error('qemu-nbd did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, pid: child.pid!, stop: () => stop(child) };
}

let ticksPerSecond: number | undefined;
/**
 * User + system CPU seconds of a process so far (0 where /proc is missing). On a shared
 * machine this is steadier than wall time, which other tenants' load distorts.
 */
async function cpuSeconds(pid: number): Promise<number> {
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

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function fmt(bytes: number, seconds: number): string {
  return `${(bytes / seconds / 1e6).toFixed(0).padStart(5)} MB/s (${seconds.toFixed(2)} s)`;
}
