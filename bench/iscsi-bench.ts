/**
 * @module
 * `npm run bench -- iscsi`: the iSCSI data path, as two ratios measured in the same run
 * on 1 GiB of random data (BENCH_ISCSI_MIB to change), medians of BENCH_ROUNDS rounds
 * (default 3):
 * - `initiator`: Islet's initiator copying a file to a tgtd LUN and the LUN back to a file,
 *   against `qemu-img convert` over iscsi:// (libiscsi) doing the same copies to and from
 *   the same LUN; ratio = qemu's time / Islet's time (goal >= 1.0); both end a write to the
 *   LUN with one SYNCHRONIZE CACHE;
 * - `target`: `qemu-img convert` to and from the simulated target (`islet sim iscsi`, its
 *   own process) against tgtd serving the same file; ratio = tgtd's time / ours (goal >= 0.8).
 * Every round runs all the copies back to back (order alternating between rounds).
 * A ratio below its goal is marked `!`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, open, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { IsletIscsiInitiator } from '../src/storage/iscsi/islet-iscsi-initiator.js';
import { freePort, Tgtd } from '../test/helpers/tgtd.js';
import { exec, haveTools, median, MiB, scratchBase, timed, writeRandom } from './nbd-bench-kit.js';

const TARGET = 'iqn.2026-12.org.islet.bench:lun';
const CHUNK = MiB;
const DEPTH = 16;

/**
 * qemu-img convert's default cache mode for the destination is `unsafe`: it never asks the
 * target to flush. Islet's copy ends with SYNCHRONIZE CACHE (a copy that is not durable is
 * not finished), so qemu-img writing to a LUN runs with `-t writeback`, which flushes once
 * at the end: both sides do the same work.
 */
async function qemuCopy(from: string, to: string, toLun: boolean): Promise<void> {
  await exec('qemu-img', ['convert', ...(toLun ? ['-n', '-t', 'writeback'] : []), '-f', 'raw', '-O', 'raw', from, to], { maxBuffer: 1 << 20 });
}

/** Islet's initiator: file → LUN or LUN → file, DEPTH requests of CHUNK bytes in flight. */
async function isletCopy(portal: string, file: string, size: number, toLun: boolean): Promise<void> {
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
}

async function startSim(file: string): Promise<{ stop: () => Promise<void>; url: string }> {
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

    const t = { qw: [] as number[], qr: [] as number[], iw: [] as number[], ir: [] as number[], sw: [] as number[], sr: [] as number[] };
    // Both targets serve the same file at once (never written at the same moment), and each
    // round measures everything back to back, alternating the order, so that the load of a
    // shared machine weighs on every side alike.
    const tgtd = await Tgtd.start({ targetIqn: TARGET, luns: [{ lun: 1, file: lunFile }] });
    const tgtdUrl = `iscsi://${tgtd.portal}/${TARGET}/1`;
    let sim: { stop: () => Promise<void>; url: string } | undefined;
    try {
      sim = await startSim(lunFile);
      const simUrl = sim.url;
      const steps: [keyof typeof t, () => Promise<void>][] = [
        ['qw', () => qemuCopy(src, tgtdUrl, true)],
        ['sw', () => qemuCopy(src, simUrl, true)],
        ['iw', () => isletCopy(tgtd.portal, src, size, true)],
        ['qr', () => qemuCopy(tgtdUrl, out, false)],
        ['sr', () => qemuCopy(simUrl, out, false)],
        ['ir', () => isletCopy(tgtd.portal, out, size, false)],
      ];
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? steps : [...steps.slice(0, 3).reverse(), ...steps.slice(3).reverse()];
        for (const [key, step] of order) t[key].push(await timed(step));
      }
    } finally {
      await sim?.stop();
      await tgtd.stop();
    }
    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) as Record<keyof typeof t, number>;
    const rate = (s: number): string => `${(mib / s).toFixed(0)} MiB/s`;
    console.log(`tgtd LUN, qemu-img convert (libiscsi): write ${rate(m.qw)}, read ${rate(m.qr)}`);
    console.log(`tgtd LUN, Islet initiator:             write ${rate(m.iw)}, read ${rate(m.ir)}`);
    console.log(`simulated target, qemu-img convert:    write ${rate(m.sw)}, read ${rate(m.sr)}`);
    const initiator = (m.qw + m.qr) / (m.iw + m.ir);
    const target = (m.qw + m.qr) / (m.sw + m.sr);
    console.log(`initiator: islet/qemu-img ratio ${mark(initiator, 1.0)} (write ${mark(m.qw / m.iw, 1.0)}, read ${mark(m.qr / m.ir, 1.0)}) goal >= 1.0`);
    console.log(`target: sim/tgtd ratio ${mark(target, 0.8)} (write ${mark(m.qw / m.sw, 0.8)}, read ${mark(m.qr / m.sr, 0.8)}) goal >= 0.8`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
