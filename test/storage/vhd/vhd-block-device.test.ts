/**
 * The BlockDevice adapter over a VHD chain: any-byte reads and writes, write-zeroes that never
 * inflates a thin disk yet masks a parent, block status as holes and data, range errors, and
 * concurrent partial-sector writes that share a sector without losing each other.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDifferencing, createDynamic, open } from '../../../src/storage/vhd/index.js';
import { VhdBlockDevice } from '../../../src/storage/vhd/vhd-block-device.js';
import { patternBuffer, withTempDir } from './vhd-helpers.js';

const MiB = 1024 * 1024;

test('reads, writes, zeroes and extents through the port', async () => {
  await withTempDir(async (dir) => {
    const base = join(dir, 'base.vhd');
    await createDynamic(base, 8 * MiB);
    const b = await open(base);
    await b.write(0, Buffer.alloc(2 * MiB, 0xaa));
    await b.close();
    const leaf = join(dir, 'leaf.vhd');
    await createDifferencing(leaf, base);
    const dev = await VhdBlockDevice.open(leaf);
    assert.equal(dev.size, 8 * MiB);
    const expected = Buffer.alloc(8 * MiB);
    expected.fill(0xaa, 0, 2 * MiB);

    const data = patternBuffer(10_000, 1);
    await dev.write(3 * MiB + 7, data, { fua: true });
    data.copy(expected, 3 * MiB + 7);
    await dev.writeZeroes(MiB - 100, 300); // masks the parent
    expected.fill(0, MiB - 100, MiB + 200);
    await dev.writeZeroes(5 * MiB, MiB); // over holes: nothing to do
    expected.fill(0, 5 * MiB, 6 * MiB);
    assert.ok((await dev.read(0, 8 * MiB)).equals(expected));
    assert.ok((await dev.read(3 * MiB + 5, 20, Buffer.alloc(64))).equals(expected.subarray(3 * MiB + 5, 3 * MiB + 25)));
    assert.deepEqual(dev.chain.leaf.allocatedBlocks(), [0, 1], 'zeroing holes allocated nothing');

    // Sector-precise: the written bytes' sectors are data, the rest of their block a hole.
    const end = Math.ceil((3 * MiB + 7 + 10_000) / 512) * 512;
    const ext = await dev.blockStatus(0, 8 * MiB);
    assert.deepEqual(ext.map((e) => [e.offset, e.length, e.hole, e.zero]), [
      [0, 2 * MiB, false, false],
      [2 * MiB, MiB, true, true],
      [3 * MiB, end - 3 * MiB, false, false],
      [end, 8 * MiB - end, true, true],
    ]);
    assert.deepEqual(await dev.blockStatus(MiB + 3, 10), [{ offset: MiB + 3, length: 10, hole: false, zero: false }]);
    await assert.rejects(dev.read(8 * MiB - 1, 2), RangeError);
    await dev.close();

    const ro = await VhdBlockDevice.open(leaf, { readOnly: true });
    await assert.rejects(ro.write(0, Buffer.alloc(1)), { code: 'EROFS' });
    await ro.close();
  });
});

test('concurrent partial-sector writes sharing sectors keep every byte', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'd.vhd');
    await createDynamic(path, 4 * MiB);
    const dev = await VhdBlockDevice.open(path);
    const expected = Buffer.alloc(4 * MiB);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      const off = 1000 + i * 100; // 100-byte writes, five or six per sector
      const data = Buffer.alloc(100, (i % 250) + 1);
      data.copy(expected, off);
      writes.push(dev.write(off, data));
    }
    await Promise.all(writes);
    assert.ok((await dev.read(0, 4 * MiB)).equals(expected));
    await dev.close();
  });
});
