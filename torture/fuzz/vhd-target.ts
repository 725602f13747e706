/**
 * @module
 * Fuzz target for the VHD parser: a file is written with the input's bytes and opened as
 * the SR opens its disks, then read throughout (data and present map), mapped, its block
 * status and parent locators asked for. Seeds are small dynamic, differencing and fixed
 * disks with data in them (4 KiB blocks so a whole disk is a few KiB). Mutated inputs get
 * their footer and header checksums repaired most of the time, so they reach the checks
 * behind the checksum. The only declared failure is a `VhdError`.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VhdError, createDifferencing, createDynamic, createFixed, open } from '../../src/storage/vhd/index.js';
import { vhdChecksum } from '../../src/storage/vhd/checksum.js';
import { unexpected, type FuzzTarget } from './fuzz-target.js';

const FOOTER_CHECKSUM = 64;
const HEADER_CHECKSUM = 36;
const MiB = 1024 * 1024;

function fixChecksums(input: Buffer): Buffer {
  const b = Buffer.from(input);
  const fixFooter = (o: number) => { if (o >= 0 && o + 512 <= b.length) b.writeUInt32BE(vhdChecksum(b.subarray(o, o + 512), FOOTER_CHECKSUM), o + FOOTER_CHECKSUM); };
  fixFooter(0);
  fixFooter(b.length - 512);
  if (b.length >= 24) {
    const dataOffset = Number(b.readBigUInt64BE(16));
    if (dataOffset + 1024 <= b.length) {
      b.writeUInt32BE(vhdChecksum(b.subarray(dataOffset, dataOffset + 1024), HEADER_CHECKSUM), dataOffset + HEADER_CHECKSUM);
    }
  }
  return b;
}

interface Ctx { dir: string; n: number }

async function exercise(path: string): Promise<void> {
  const f = await open(path, { readOnly: true });
  try {
    const size = f.size;
    const ranges: Array<[number, number]> = size <= 16 * MiB
      ? Array.from({ length: Math.ceil(size / MiB) }, (_, i) => [i * MiB, Math.min(MiB, size - i * MiB)])
      : [[0, 64 * 1024], [size - 64 * 1024, 64 * 1024]];
    for (const [o, l] of ranges) {
      await f.read(o, l);
      await f.map(o, l);
      await f.blockStatus(o, l);
    }
    f.allocatedBlocks();
    if (f.isDifferencing) await f.parentLocatorPaths();
  } finally {
    await f.close();
  }
}

export const vhdTarget: FuzzTarget<Ctx> = {
  name: 'vhd',
  about: 'VHD files: open (footer, header, BAT, locators), read, map, block status',
  setup: async (dir) => ({ dir, n: 0 }),
  async seeds({ dir }) {
    const dyn = join(dir, 'seed-dyn.vhd');
    const child = join(dir, 'seed-child.vhd');
    const fixed = join(dir, 'seed-fixed.vhd');
    const big = join(dir, 'seed-big.vhd');
    await createDynamic(dyn, 64 * 1024, { blockSize: 4096 });
    const d = await open(dyn);
    await d.write(4096, Buffer.alloc(4096, 0xab));
    await d.write(40960, Buffer.alloc(1024, 0xcd));
    await d.close();
    await createDifferencing(child, dyn, { blockSize: 4096 });
    const c = await open(child);
    await c.write(8192, Buffer.alloc(512, 0x11));
    await c.close();
    await createFixed(fixed, 8192);
    await createDynamic(big, 8 * 1024 * MiB);
    const out = await Promise.all([dyn, child, fixed, big].map((p) => readFile(p)));
    await Promise.all([dyn, child, fixed, big].map((p) => rm(p)));
    return out;
  },
  fixup: fixChecksums,
  async check(input, ctx) {
    const path = join(ctx.dir, `in-${ctx.n++ % 4}.vhd`);
    await writeFile(path, input);
    try {
      await exercise(path);
    } catch (e) {
      if (!(e instanceof VhdError)) throw unexpected('VHD open/read', e);
    }
  },
};
