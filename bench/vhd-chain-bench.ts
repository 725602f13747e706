/**
 * @module
 * Reading the leaf of a 10-deep VHD chain against reading a flat VHD with the same content.
 * The base holds the whole disk; each of the nine layers above holds the guest writes made
 * between two snapshots (about 5% of the disk as 4 KiB–1 MiB extents at random places), so
 * reading the leaf resolves sectors through every layer. The flat VHD received the same
 * writes in place. Measured through Islet's NBD server (`nbdcopy` to `null:`, one
 * connection, the server in its own process opening the disk for each copy) and through
 * `VhdBlockDevice` directly in this process (sequential 2 MiB reads, 8 in flight), both
 * just after opening and once everything is cached. Goal: chain/flat >= 0.8.
 */
import { copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { createDifferencing, open as openVhd } from '../src/storage/vhd/index.js';
import { VhdBlockDevice } from '../src/storage/vhd/vhd-block-device.js';
import { alternate, fmt, median, nbdcopy, ratio, serveOurs, timed } from './nbd-bench-kit.js';
import { scribbles, seeded } from './vhd-fixtures.js';

export const CHAIN_DEPTH = 10;

export interface ChainBenchInput {
  dir: string;
  /** A `size`-byte dynamic VHD holding random data (the base; not modified). */
  base: string;
  /** Random data to write into the layers. */
  src: string;
  size: number;
  rounds: number;
}

export async function chainBench(inp: ChainBenchInput): Promise<void> {
  const { dir, size, rounds } = inp;
  const { leaf, flat } = await buildChain(inp);
  console.log(`vhd chain: reading the leaf of a ${CHAIN_DEPTH}-deep chain vs a flat VHD, ${size / 2 ** 20} MiB, median of ${rounds} rounds`);
  const server = await serveOurs('vhd', dir);
  const nbd = { chain: [] as number[], flat: [] as number[] };
  const cold = { chain: [] as number[], flat: [] as number[] };
  const warm = { chain: [] as number[], flat: [] as number[] };
  try {
    const uri = (name: string): string => `nbd://127.0.0.1:${server.port}/${name}`;
    const names = { chain: leaf, flat } as const;
    for (const k of ['chain', 'flat'] as const) await nbdcopy(server, uri(names[k]), 'null:');
    for (let i = 0; i < rounds; i++) {
      for (const k of alternate(i, 'chain', 'flat') as ('chain' | 'flat')[]) {
        nbd[k].push((await nbdcopy(server, uri(names[k]), 'null:')).seconds);
        const t = await readThrough(join(dir, names[k]));
        cold[k].push(t.cold);
        warm[k].push(t.warm);
      }
    }
  } finally {
    await server.stop();
  }
  await sameContent(join(dir, leaf), join(dir, flat));
  const lines = [['NBD server (nbdcopy)', nbd], ['device, just opened', cold], ['device, in use', warm]] as const;
  for (const [how, t] of lines) {
    const c = median(t.chain);
    const f = median(t.flat);
    console.log(`  ${how.padEnd(20)} chain ${fmt(size, c)}  flat ${fmt(size, f)}  chain/flat ${ratio(f / c, 0.8)}`);
  }
}

/** Builds `chain-1.vhd` … `chain-9.vhd` over the base, and `flat.vhd` with the same content. */
async function buildChain(inp: ChainBenchInput): Promise<{ leaf: string; flat: string }> {
  const { dir, base, src, size } = inp;
  const flatPath = join(dir, 'flat.vhd');
  await copyFile(base, flatPath);
  const flat = await openVhd(flatPath);
  const srcFh = await open(src, 'r');
  const rnd = seeded(10);
  let parent = base;
  let name = '';
  try {
    for (let k = 1; k < CHAIN_DEPTH; k++) {
      name = `chain-${k}.vhd`;
      const path = join(dir, name);
      await createDifferencing(path, parent);
      const layer = await openVhd(path);
      try {
        for (const s of scribbles(rnd, size, size / 20)) {
          // Other bytes than the base holds there, so a wrongly resolved sector shows.
          const from = (s.offset + size / 2) % (size - s.length);
          const buf = Buffer.allocUnsafe(s.length);
          await srcFh.read(buf, 0, s.length, from);
          await layer.write(s.offset, buf);
          await flat.write(s.offset, buf);
        }
        await layer.flush();
      } finally {
        await layer.close();
      }
      parent = path;
    }
    await flat.flush();
  } finally {
    await flat.close();
    await srcFh.close();
  }
  return { leaf: name, flat: 'flat.vhd' };
}

/**
 * Reads the whole disk through the block device port, 2 MiB reads, 8 in flight, into
 * page-aligned buffers as the NBD server's are: once just after opening (every bitmap and
 * chain map still to load), then once more (cached, as for a disk in use).
 */
async function readThrough(path: string): Promise<{ cold: number; warm: number }> {
  const dev = await VhdBlockDevice.open(path, { readOnly: true });
  try {
    const chunk = 2 * 1024 * 1024;
    const slab = Buffer.from(new WebAssembly.Memory({ initial: 8 * 32, maximum: 8 * 32 }).buffer);
    const pass = (): Promise<number> => timed(async () => {
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async (_, i) => {
        const buf = slab.subarray(i * chunk, (i + 1) * chunk);
        while (next < dev.size) {
          const at = next;
          next += chunk;
          await dev.read(at, Math.min(chunk, dev.size - at), buf);
        }
      }));
    });
    const cold = await pass();
    return { cold, warm: await pass() };
  } finally {
    await dev.close();
  }
}

/** The chain's leaf and the flat disk read the same, byte for byte. */
async function sameContent(a: string, b: string): Promise<void> {
  const [da, db] = [await VhdBlockDevice.open(a, { readOnly: true }), await VhdBlockDevice.open(b, { readOnly: true })];
  try {
    const chunk = 64 * 1024 * 1024;
    for (let at = 0; at < da.size; at += chunk) {
      const n = Math.min(chunk, da.size - at);
      if (!(await da.read(at, n)).equals(await db.read(at, n))) throw new Error(`chain and flat differ in ${at}+${n}`);
    }
  } finally {
    await da.close();
    await db.close();
  }
}
