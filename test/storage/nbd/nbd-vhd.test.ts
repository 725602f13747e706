/**
 * Islet's NBD server serving VHD chains (`VhdBlockDevice`) to the real clients: nbdcopy out
 * of a 3-deep chain matches what libvhdi reads, nbdinfo's map matches the chain's holes,
 * and nbdcopy into a fresh dynamic VHD (one and several connections) leaves a file that
 * qemu-img reads back byte for byte.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createDifferencing, createDynamic, open } from '../../../src/storage/vhd/index.js';
import { VhdBlockDevice } from '../../../src/storage/vhd/vhd-block-device.js';
import { pyvhdiDump } from '../vhd/vhd-helpers.js';
import { missingTools, MiB, pattern, runOk, serveFile, withTempDir } from './nbd-fixture.js';

const BLOCK = 2 * MiB;
const missing = await missingTools(['nbdinfo', 'nbdcopy', 'qemu-img']);
const skip = missing.length ? `missing ${missing.join(', ')}` : false;

async function put(path: string, model: Buffer, offset: number, data: Buffer): Promise<void> {
  const f = await open(path);
  await f.write(offset, data);
  await f.close();
  data.copy(model, offset);
}

describe('NBD server over VHD chains', { skip }, () => {
  it('nbdcopy out of a 3-deep chain reads what libvhdi reads; nbdinfo maps its holes', async () => {
    await withTempDir(async (dir) => {
      const size = 10 * BLOCK;
      const model = Buffer.alloc(size);
      const [base, mid, leaf] = ['base.vhd', 'mid.vhd', 'leaf.vhd'].map((n) => join(dir, n)) as [string, string, string];
      await createDynamic(base, size);
      await put(base, model, 0, pattern(3 * BLOCK, 1));
      await createDifferencing(mid, base);
      await put(mid, model, BLOCK - 64 * 1024, pattern(2 * BLOCK, 2)); // over the base, across blocks
      await put(mid, model, 6 * BLOCK + 4096, pattern(8192, 3));
      await createDifferencing(leaf, mid);
      await put(leaf, model, 2 * BLOCK + 4096, pattern(BLOCK, 4));
      await put(leaf, model, 8 * BLOCK, pattern(BLOCK, 5));
      const oracle = join(dir, 'oracle.raw');
      await pyvhdiDump([leaf, mid, base], oracle);
      assert.ok((await readFile(oracle)).equals(model), 'libvhdi agrees with the model');

      const served = await serveFile(undefined, { device: await VhdBlockDevice.open(leaf, { readOnly: true }), readOnly: true });
      try {
        const out = join(dir, 'out.raw');
        await runOk('nbdcopy', [served.uri(), out]);
        assert.ok((await readFile(out)).equals(model), 'nbdcopy read the chain exactly');
        const map = JSON.parse(await runOk('nbdinfo', ['--map', '--json', served.uri()])) as { offset: number; length: number; type: number }[];
        const holes = map.filter((e) => (e.type & 1) !== 0).map((e) => [e.offset, e.length]);
        assert.deepEqual(holes, [
          [3 * BLOCK + 4096, 3 * BLOCK],
          [6 * BLOCK + 3 * 4096, 2 * BLOCK - 3 * 4096],
          [9 * BLOCK, BLOCK],
        ]);
      } finally {
        await served.close();
      }
    });
  });

  for (const connections of [1, 2]) {
    it(`nbdcopy into a fresh dynamic VHD over ${connections} connection(s) lands byte for byte`, async () => {
      await withTempDir(async (dir) => {
        const size = 24 * MiB;
        const src = join(dir, 'src.raw');
        const data = Buffer.alloc(size);
        pattern(5 * MiB, 7).copy(data, 0);
        pattern(3 * MiB + 512, 8).copy(data, 9 * MiB - 512); // unaligned to blocks
        pattern(MiB, 9).copy(data, size - MiB);
        await writeFile(src, data);
        const target = join(dir, 'target.vhd');
        await createDynamic(target, size);
        const served = await serveFile(undefined, { device: await VhdBlockDevice.open(target), multiConn: connections > 1 });
        try {
          await runOk('nbdcopy', ['--flush', `--connections=${connections}`, src, served.uri()]);
        } finally {
          await served.close();
        }
        await runOk('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', target, src]);
        const f = await open(target, { readOnly: true });
        assert.deepEqual(f.allocatedBlocks(), [0, 1, 2, 4, 5, 11], 'zero blocks stayed unallocated');
        await f.close();
      });
    });
  }
});
