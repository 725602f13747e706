/**
 * @module
 * `npm run bench -- nbd`: the data path of Islet's virtual disks, as ratios measured in the
 * same run (each section's module says how):
 * - `vhd`: nbdcopy read and write of a VHD, Islet's NBD server vs `qemu-nbd -f vpc`, and
 *   vs a plain `cp` of the raw data (goals islet/qemu-nbd >= 1.0, islet/cp >= 0.6);
 * - `chain`: reading the leaf of a 10-deep chain vs a flat VHD (goal >= 0.8);
 * - `coalesce`: coalescing a node vs `cp --sparse=always` of its data (goal >= 0.6);
 * - `raw` (only when asked): the same copies with a raw file and `qemu-nbd -f raw`.
 * A ratio below its goal is marked `!`. Files live on tmpfs when it has room (in RAM too),
 * so that the disk does not drown the difference.
 *
 * Env: BENCH_NBD_MIB (default 1024), BENCH_ROUNDS (default 5; the host is shared, medians need several),
 * BENCH_NBD_SECTIONS (default `vhd,chain,coalesce`; add `raw`, `plain` for the
 * plain-socket receive path of the NBD server).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { coalesceBench } from './coalesce-bench.js';
import { copyBench } from './nbd-copy-bench.js';
import { CHILD_MARK, haveTools, MiB, scratchBase, writeRandom } from './nbd-bench-kit.js';
import { chainBench } from './vhd-chain-bench.js';
import { vhdFromRaw } from './vhd-fixtures.js';

export async function run(): Promise<void> {
  if (process.env[CHILD_MARK]) throw new Error('nbd-bench must not run inside its own server process');
  const mib = Number(process.env.BENCH_NBD_MIB ?? 1024);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const sections = new Set((process.env.BENCH_NBD_SECTIONS ?? 'vhd,chain,coalesce').split(',').map((s) => s.trim()));
  const missing = await haveTools(['nbdcopy', 'qemu-nbd', 'nbdkit', 'qemu-img', 'cmp']);
  if (missing) {
    console.log(`nbd: skipped, ${missing} is not installed`);
    return;
  }
  const size = mib * MiB;
  // Largest moment: source, served image, two outputs, chain base + flat + layers.
  const base = await scratchBase(5 * size);
  const dir = await mkdtemp(join(base, 'islet-nbd-bench-'));
  try {
    const src = join(dir, 'src.raw');
    await writeRandom(src, mib);
    console.log(`nbd bench on ${base}, ${mib} MiB images (a ratio marked ! is below its goal: a goal missed, not an error)`);
    if (sections.has('vhd')) await copyBench({ kind: 'vhd', dir, src, size, rounds, plainSocket: sections.has('plain') });
    if (sections.has('raw')) await copyBench({ kind: 'raw', dir, src, size, rounds, plainSocket: sections.has('plain') });
    if (sections.has('chain')) {
      const sub = await mkdtemp(join(dir, 'chain-'));
      const baseVhd = join(sub, 'base.vhd');
      await vhdFromRaw(src, baseVhd, size);
      await chainBench({ dir: sub, base: baseVhd, src, size, rounds });
      await rm(sub, { recursive: true, force: true });
    }
    if (sections.has('coalesce')) await coalesceBench({ dir, src, size, rounds });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
