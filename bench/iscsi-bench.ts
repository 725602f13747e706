/**
 * @module
 * `npm run bench -- iscsi`: the iSCSI data path, as two ratios measured in the same run
 * on 1 GiB of random data (BENCH_ISCSI_MIB to change), medians of BENCH_ROUNDS rounds
 * (default 3):
 * - `initiator`: Islet's initiator copying a file to a tgtd LUN and the LUN back to a file,
 *   against `qemu-img convert` over iscsi:// (libiscsi) doing the same copies to and from
 *   the same LUN; ratio = qemu's time / Islet's time (goal >= 1.0); both end a write to the
 *   LUN with one SYNCHRONIZE CACHE, and both write what they read to a file on the same
 *   file system (tmpfs when it has room);
 * - `target`: `qemu-img convert` to and from the simulated target (`islet sim iscsi`, its
 *   own process) against tgtd serving the same file; ratio = tgtd's time / ours (goal >= 0.8).
 * Every round runs all the copies back to back (order alternating between rounds), and
 * every file read back from a LUN is compared with what was written.
 * A ratio below its goal is marked `!`.
 *
 * Wall time on a shared machine measures the other tenants as much as the code, so each
 * copy also reports CPU seconds per GiB of the client (this process's own CPU for Islet,
 * qemu-img's rusage) and of the target serving it (tgtd's or the simulator's, from /proc):
 * with two cores, whichever client burns less leaves more to the target, and CPU per byte
 * barely moves with load.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, open, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { IsletIscsiInitiator } from '../src/storage/iscsi/islet-iscsi-initiator.js';
import { freePort, Tgtd } from '../test/helpers/tgtd.js';
import { readFile } from 'node:fs/promises';
import { haveTools, median, MiB, scratchBase, writeRandom } from './nbd-bench-kit.js';

const TARGET = 'iqn.2026-12.org.islet.bench:lun';
const CHUNK = MiB;
const DEPTH = 16;

/**
 * qemu-img convert's default cache mode for the destination is `unsafe`: it never asks the
 * target to flush. Islet's copy ends with SYNCHRONIZE CACHE (a copy that is not durable is
 * not finished), so qemu-img writing to a LUN runs with `-t writeback`, which flushes once
 * at the end: both sides do the same work. Returns qemu-img's CPU seconds: it runs under a
 * shell that prints its own /proc stat once qemu-img has been waited for, whose children's
 * times (cutime, cstime) are then qemu-img's.
 */
async function qemuCopy(from: string, to: string, toLun: boolean): Promise<number> {
  const args = ['convert', ...(toLun ? ['-n', '-t', 'writeback'] : []), '-f', 'raw', '-O', 'raw', from, to];
  const p = spawn('sh', ['-c', 'qemu-img "$@" >/dev/null || exit $?; cat /proc/$$/stat', 'sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => p.once('close', resolve));
  if (code !== 0) throw new Error(`qemu-img ${args.join(' ')} failed: ${err.trim()}`);
  const fields = out.slice(out.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/** Linux's USER_HZ, the unit of the times in /proc/<pid>/stat. */
const CLOCK_TICKS = 100;

/**
 * A target's CPU seconds (user + system) and minor page faults so far, from /proc. tgtd's
 * cost per byte depends mostly on how many pages of its answer buffers are fresh (each one
 * a fault, costly in a VM), which depends on the sizes of the commands it is sent.
 */
async function usage(pid: number): Promise<{ cpu: number; faults: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { cpu: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS, faults: Number(f[7]) };
}

/**
 * Islet's initiator: file → LUN or LUN → file, DEPTH requests of CHUNK bytes in flight.
 * Returns this process's CPU seconds over the copy (nothing else runs in it meanwhile).
 */
async function isletCopy(portal: string, file: string, size: number, toLun: boolean): Promise<number> {
  const cpu0 = process.cpuUsage();
  const ini = new IsletIscsiInitiator();
  const dev = await ini.openLun({ portal, targetIqn: TARGET, lun: 1 }, { initiatorIqn: 'iqn.2026-12.org.islet.bench:host' });
  const fh = await open(file, toLun ? 'r' : 'w');
  try {
    if (!toLun) await fh.truncate(size);
    let next = 0;
    await Promise.all(Array.from({ length: DEPTH }, async () => {
      const buf = Buffer.allocUnsafe(CHUNK);
      while (next < size) {
        const off = next;
        next += CHUNK;
        const len = Math.min(CHUNK, size - off);
        if (toLun) {
          await fh.read(buf, 0, len, off);
          await dev.write(off, buf.subarray(0, len));
        } else {
          const got = await dev.read(off, len, buf);
          await fh.write(got, 0, len, off);
        }
      }
    }));
    if (toLun) await dev.flush();
  } finally {
    await fh.close();
    await dev.close();
    await ini.close();
  }
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1e6;
}

/** Fails unless the two files hold the same bytes. */
async function sameContent(a: string, b: string, what: string): Promise<void> {
  const [fa, fb] = [await open(a, 'r'), await open(b, 'r')];
  try {
    const [ba, bb] = [Buffer.allocUnsafe(4 * MiB), Buffer.allocUnsafe(4 * MiB)];
    for (let at = 0; ; at += ba.length) {
      const [ra, rb] = [await fa.read(ba, 0, ba.length, at), await fb.read(bb, 0, bb.length, at)];
      if (ra.bytesRead !== rb.bytesRead || !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) {
        throw new Error(`${what}: the data read back differs from what was written (in the 4 MiB from ${at})`);
      }
      if (ra.bytesRead === 0) return;
    }
  } finally {
    await fa.close();
    await fb.close();
  }
}

async function startSim(file: string): Promise<{ stop: () => Promise<void>; url: string; pid: number }> {
  const port = await freePort();
  const bin = new URL('../../bin/islet', import.meta.url).pathname;
  const p = spawn(process.execPath, [bin, 'sim', 'iscsi', '--listen', `127.0.0.1:${port}`, '--target', TARGET, '--lun', file, '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('islet sim iscsi did not start')), 30_000);
    p.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (/^ready /m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  // LUN numbers of the simulator start at 0; tgtd's data LUN is 1.
  return {
    url: `iscsi://127.0.0.1:${port}/${TARGET}/0`,
    pid: p.pid!,
    stop: async () => {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    },
  };
}

const mark = (r: number, goal: number): string => `${r.toFixed(2)}${r < goal ? ' !' : ''}`;

export async function run(): Promise<void> {
  const mib = Number(process.env.BENCH_ISCSI_MIB ?? 1024);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const missing = await haveTools(['tgtd', 'tgtadm', 'unshare', 'qemu-img']);
  if (missing) {
    console.log(`iscsi: skipped, ${missing} is not installed`);
    return;
  }
  const size = mib * MiB;
  const base = await scratchBase(3 * size);
  const dir = await mkdtemp(join(base, 'islet-iscsi-bench-'));
  try {
    const src = join(dir, 'src.raw');
    const lunFile = join(dir, 'lun.raw');
    const out = join(dir, 'out.raw');
    await writeRandom(src, mib);
    await (await open(lunFile, 'w')).close();
    await truncate(lunFile, size);
    console.log(`iscsi bench on ${base}, ${mib} MiB, ${rounds} rounds`);

    type Key = 'qw' | 'qr' | 'iw' | 'ir' | 'sw' | 'sr';
    const keys: Key[] = ['qw', 'qr', 'iw', 'ir', 'sw', 'sr'];
    const t = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<Key, number[]>;
    const clientCpu = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<Key, number[]>;
    const targetCpu = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<Key, number[]>;
    const targetFaults = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<Key, number[]>;
    // Both targets serve the same file at once (never written at the same moment), and each
    // round measures everything back to back, alternating the order, so that the load of a
    // shared machine weighs on every side alike.
    const tgtd = await Tgtd.start({ targetIqn: TARGET, luns: [{ lun: 1, file: lunFile }] });
    const tgtdUrl = `iscsi://${tgtd.portal}/${TARGET}/1`;
    let sim: { stop: () => Promise<void>; url: string; pid: number } | undefined;
    try {
      sim = await startSim(lunFile);
      const simUrl = sim.url;
      const simPid = sim.pid;
      const tgtdPid = tgtd.pid!;
      const steps: [Key, number, () => Promise<number>][] = [
        ['qw', tgtdPid, () => qemuCopy(src, tgtdUrl, true)],
        ['sw', simPid, () => qemuCopy(src, simUrl, true)],
        ['iw', tgtdPid, () => isletCopy(tgtd.portal, src, size, true)],
        ['qr', tgtdPid, () => qemuCopy(tgtdUrl, out, false)],
        ['sr', simPid, () => qemuCopy(simUrl, out, false)],
        ['ir', tgtdPid, () => isletCopy(tgtd.portal, out, size, false)],
      ];
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? steps : [...steps.slice(0, 3).reverse(), ...steps.slice(3).reverse()];
        for (const [key, pid, step] of order) {
          const served0 = await usage(pid);
          const t0 = performance.now();
          const cpu = await step();
          t[key].push((performance.now() - t0) / 1000);
          const served = await usage(pid);
          targetCpu[key].push(served.cpu - served0.cpu);
          targetFaults[key].push(served.faults - served0.faults);
          clientCpu[key].push(cpu);
          if (key.endsWith('r')) await sameContent(src, out, `${key} round ${r + 1}`);
        }
      }
    } finally {
      await sim?.stop();
      await tgtd.stop();
    }
    const m = Object.fromEntries(keys.map((k) => [k, median(t[k])])) as Record<Key, number>;
    const gib = mib / 1024;
    const rate = (s: number): string => `${(mib / s).toFixed(0)} MiB/s`;
    const cpu = (k: Key): string => `${(median(clientCpu[k]) / gib).toFixed(2)}+${(median(targetCpu[k]) / gib).toFixed(2)} ${(median(targetFaults[k]) / gib / 1000).toFixed(0)}k`;
    const line = (label: string, w: Key, r: Key): string => `${label} write ${rate(m[w]).padStart(10)} (${cpu(w)}), read ${rate(m[r]).padStart(10)} (${cpu(r)})`;
    console.log('(CPU s/GiB of client + target, target page faults/GiB; medians)');
    console.log(line('tgtd LUN, qemu-img convert (libiscsi):', 'qw', 'qr'));
    console.log(line('tgtd LUN, Islet initiator:            ', 'iw', 'ir'));
    console.log(line('simulated target, qemu-img convert:   ', 'sw', 'sr'));
    const initiator = (m.qw + m.qr) / (m.iw + m.ir);
    const target = (m.qw + m.qr) / (m.sw + m.sr);
    console.log(`initiator: islet/qemu-img ratio ${mark(initiator, 1.0)} (write ${mark(m.qw / m.iw, 1.0)}, read ${mark(m.qr / m.ir, 1.0)}) goal >= 1.0`);
    console.log(`target: sim/tgtd ratio ${mark(target, 0.8)} (write ${mark(m.qw / m.sw, 0.8)}, read ${mark(m.qr / m.sr, 0.8)}) goal >= 0.8`);
    const spread = (k: Key): string => t[k].map((x) => (mib / x).toFixed(0)).join('/');
    console.log(`per round, MiB/s: ${keys.map((k) => `${k} ${spread(k)}`).join(', ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
