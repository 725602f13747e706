/**
 * @module
 * NBD data-path throughput: `nbdcopy` reading an export into a file and writing a file
 * into an export, Islet's NBD server (its own process) against `qemu-nbd` serving the same
 * image, beside a plain `cp` of the raw data between files (the limit).
 *
 * `vhd`: the image is a dynamic VHD with every block allocated, served by Islet through
 * `VhdBlockDevice` and by `qemu-nbd -f vpc`; each write round goes into a fresh empty
 * dynamic VHD (an import: every block is allocated during the copy), with `--flush` so the
 * data is durable when the copy ends. `raw`: the image is a raw file, rewritten in place.
 *
 * Each case runs with one connection and with multi-conn (Islet `multiConn`, qemu-nbd
 * `-e 4`, so nbdcopy opens several connections to both); `plain` adds a run of Islet with
 * zero-copy receive off. Servers that can stay up do, one untimed warm-up copy each; rounds
 * alternate who goes first and run cp too; medians of the rounds. The single-connection
 * read also times `nbdkit`'s file plugin on the raw data, the ceiling an NBD read into a
 * file reaches here whoever serves it, so that `islet/cp` can be read against `nbdkit/cp`.
 */
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createDynamic } from '../src/storage/vhd/index.js';
import {
  alternate, exec, fmt, median, nbdcopy, ratio, serveNbdkit, serveOurs, serveQemu, timed, type Sample, type Served,
} from './nbd-bench-kit.js';
import { vhdFromRaw } from './vhd-fixtures.js';

type Who = 'ours' | 'qemu';

export interface CopyBenchInput {
  kind: 'raw' | 'vhd';
  dir: string;
  /** Random data, the source of writes and the content of the served image. */
  src: string;
  size: number;
  rounds: number;
  /** Also run with Islet's plain-socket receive path (zero-copy receive off), to weigh it. */
  plainSocket?: boolean;
}

interface Variant {
  multi: boolean;
  plain: boolean;
}

export async function copyBench(inp: CopyBenchInput): Promise<void> {
  const image = join(inp.dir, inp.kind === 'vhd' ? 'read.vhd' : 'served.raw');
  if (inp.kind === 'vhd') await vhdFromRaw(inp.src, image, inp.size);
  else await copyFile(inp.src, image);
  const what = inp.kind === 'vhd' ? 'dynamic VHD (every block allocated) vs qemu-nbd -f vpc' : 'raw file vs qemu-nbd -f raw';
  console.log(`nbd ${inp.kind}: nbdcopy of a ${inp.size / 2 ** 20} MiB ${what}, random data, median of ${inp.rounds} rounds`);
  const variants: Variant[] = [{ multi: false, plain: false }, { multi: true, plain: false }];
  if (inp.plainSocket) variants.push({ multi: false, plain: true });
  try {
    for (const v of variants) await runVariant(inp, image, v);
  } finally {
    await rm(image, { force: true });
  }
}

async function runVariant(inp: CopyBenchInput, image: string, { multi, plain }: Variant): Promise<void> {
  const { kind, dir, src, size, rounds } = inp;
  const out = join(dir, 'out.raw');
  const ours = await serveOurs(kind, kind === 'vhd' ? dir : image, { multiConn: multi, plainSocket: plain });
  const qemuRead = await serveQemu(kind === 'vhd' ? 'vpc' : 'raw', image, multi);
  const server = (who: Who): Served => (who === 'ours' ? ours : qemuRead);
  const readUri = (who: Who): string => `nbd://127.0.0.1:${server(who).port}/${who === 'ours' && kind === 'vhd' ? 'read.vhd' : 'bench'}`;
  const t = { ours: { read: [] as Sample[], write: [] as Sample[] }, qemu: { read: [] as Sample[], write: [] as Sample[] } };
  const cpTimes: number[] = [];
  const ceiling = !multi && !plain ? await serveNbdkit(src) : undefined;
  const ceilingTimes: number[] = [];
  let lastWrite = '';
  try {
    for (const who of ['ours', 'qemu'] as const) await nbdcopy(server(who), readUri(who), 'null:');
    for (let i = 0; i < rounds; i++) {
      await rm(out, { force: true });
      cpTimes.push(await timed(() => exec('cp', [src, out])));
      if (ceiling) {
        await rm(out, { force: true });
        ceilingTimes.push((await nbdcopy(ceiling, `nbd://127.0.0.1:${ceiling.port}/`, out)).seconds);
      }
      for (const who of alternate<Who>(i, 'ours', 'qemu')) {
        await rm(out, { force: true });
        t[who].read.push(await nbdcopy(server(who), readUri(who), out));
        await exec('cmp', [src, out]).catch(() => {
          throw new Error(`${who}: the copy read from the ${kind} image differs from the source`);
        });
        if (kind === 'raw') {
          t[who].write.push(await nbdcopy(server(who), src, readUri(who), ['--flush']));
          continue;
        }
        // A fresh empty VHD per write round: the copy allocates every block, as an import does.
        const name = `w-${who}-${i}.vhd`;
        const target = join(dir, name);
        await createDynamic(target, size);
        if (who === 'ours') {
          t.ours.write.push(await nbdcopy(ours, src, `nbd://127.0.0.1:${ours.port}/${name}`, ['--flush']));
          if (i === rounds - 1) await checkVhd(target, src);
        } else {
          const q = await serveQemu('vpc', target, multi);
          try {
            t.qemu.write.push(await nbdcopy(q, src, `nbd://127.0.0.1:${q.port}/bench`, ['--flush']));
          } finally {
            await q.stop();
          }
        }
        if (lastWrite) await rm(lastWrite, { force: true });
        lastWrite = target;
      }
    }
  } finally {
    await ours.stop();
    await qemuRead.stop();
    await ceiling?.stop();
    if (lastWrite) await rm(lastWrite, { force: true });
    await rm(out, { force: true });
  }
  if (kind === 'raw') await exec('cmp', [src, image]); // the last write round must have landed byte for byte
  const cp = median(cpTimes);
  const label = (multi ? 'multi-conn' : '1 conn') + (plain ? ' plain' : '');
  console.log(`  cp ${label.padEnd(16)} ${fmt(size, cp)}`);
  if (ceilingTimes.length) {
    const n = median(ceilingTimes);
    console.log(`  nbdkit file read    ${fmt(size, n)}  nbdkit/cp ${(cp / n).toFixed(2)} (no goal: the most an NBD read into a file reaches here)`);
  }
  for (const op of ['read', 'write'] as const) {
    const o = median(t.ours[op].map((x) => x.seconds));
    const q = median(t.qemu[op].map((x) => x.seconds));
    console.log(`  ${op.padEnd(5)} ${label.padEnd(13)} islet ${fmt(size, o)}  qemu-nbd ${fmt(size, q)}  ` +
      `islet/qemu-nbd ${ratio(q / o, 1)}  islet/cp ${ratio(cp / o, 0.6)}`);
    const oc = median(t.ours[op].map((x) => x.cpu));
    const qc = median(t.qemu[op].map((x) => x.cpu));
    if (oc > 0 && qc > 0) {
      console.log(`  ${''.padEnd(19)} server CPU per GiB: islet ${(oc / (size / 2 ** 30)).toFixed(2)} s, qemu-nbd ${(qc / (size / 2 ** 30)).toFixed(2)} s`);
    }
  }
}

/** The VHD a write round produced holds exactly the source (qemu-img reads it back). */
async function checkVhd(vhd: string, raw: string): Promise<void> {
  await exec('qemu-img', ['compare', '-q', '-f', 'vpc', '-F', 'raw', vhd, raw]).catch((e: { stdout?: string; stderr?: string }) => {
    throw new Error(`${vhd} written through Islet differs from the source: ${e.stdout ?? ''}${e.stderr ?? ''}`);
  });
}
