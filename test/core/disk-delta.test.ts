/**
 * DiskDelta: a disk as its differences from a base, over real sparse files
 * (FileBlockDevice). Only the units whose content differs read as data, whole, zeroes
 * included where the disk now holds zeroes; the rest reads and reports as zero holes; a
 * disk larger than its base differs wherever its tail holds data. Over two nodes of a real
 * VHD tree (VhdBlockDevice), only what the layers they do not share store is read.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DELTA_UNIT, DiskDelta, unsharedRanges } from '../../src/core/disk-delta.js';
import type { BlockDevice, DeviceLayer } from '../../src/core/ports/block-device.js';
import { createDifferencing, createDynamic } from '../../src/storage/vhd/index.js';
import { VhdBlockDevice } from '../../src/storage/vhd/vhd-block-device.js';
import { FileBlockDevice } from '../../src/storage/nbd/file-block-device.js';

const U = DELTA_UNIT;

describe('DiskDelta', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'disk-delta-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  async function disk(name: string, size: number, writes: Array<[number, Buffer]>): Promise<FileBlockDevice> {
    const dev = await FileBlockDevice.create(join(dir, name), size);
    for (const [at, data] of writes) await dev.write(at, data);
    return dev;
  }

  it('keeps the changed units whole, zeroes included, and leaves out the rest', async () => {
    const base = await disk('base.raw', 6 * U, [[0, Buffer.alloc(U, 1)], [U, Buffer.alloc(U, 2)], [3 * U, Buffer.alloc(U, 4)]]);
    const now = await disk('now.raw', 8 * U, [
      [0, Buffer.alloc(U, 1)], // unit 0: as in the base
      [U + 4096, Buffer.alloc(512, 9)], [U, Buffer.alloc(4096, 2)], // unit 1: one sector changed
      [3 * U, Buffer.alloc(U, 0)], // unit 3: zeroed since the base
      [5 * U, Buffer.alloc(U, 0)], // unit 5: zeroes written where the base had none
      [7 * U, Buffer.alloc(100, 7)], // unit 7: beyond the base's end
    ]);
    const delta = new DiskDelta(now, base);
    try {
      assert.equal(delta.size, 8 * U);
      const status = await delta.blockStatus(0, 8 * U);
      const changed = status.filter((e) => !e.zero).map((e) => [e.offset / U, e.length / U]);
      assert.deepEqual(changed, [[1, 1], [3, 1], [7, 1]]);
      assert.ok(status.every((e) => e.zero === e.hole));
      // Unit 1 reads whole, as the disk has it; unit 3 as the zeroes that replace the base's data.
      const one = await delta.read(U, U);
      assert.ok(one.equals(await now.read(U, U)));
      assert.ok((await delta.read(3 * U, U)).equals(Buffer.alloc(U)));
      // Unchanged units read as zeroes, in a read that spans changed and unchanged ones.
      const span = await delta.read(U - 512, 1024);
      assert.ok(span.subarray(0, 512).equals(Buffer.alloc(512)));
      assert.ok(span.subarray(512).equals(one.subarray(0, 512)));
      assert.ok((await delta.read(7 * U, 200)).subarray(0, 100).equals(Buffer.alloc(100, 7)));
      await assert.rejects(delta.write(), { code: 'EROFS' });
      await assert.rejects(delta.blockStatus(0, 8 * U + 1), RangeError);
    } finally {
      await now.close();
      await base.close();
    }
  });

  it('asks a large, mostly empty disk and its base for their block status a few times, not per unit', async () => {
    const size = 4 * 1024 * U + 12345; // 8 GiB and a bit: the last unit is short
    const base = await disk('big-base.raw', size - U, [[100 * U, Buffer.alloc(U, 1)]]);
    const now = await disk('big-now.raw', size, [[100 * U, Buffer.alloc(U, 1)], [2000 * U + 512, Buffer.alloc(512, 2)], [size - 100, Buffer.alloc(100, 3)]]);
    const calls = { now: 0, base: 0 };
    const counted = (dev: FileBlockDevice, key: 'now' | 'base') => new Proxy(dev, {
      get: (t, p) => (p === 'blockStatus'
        ? (o: number, l: number) => { calls[key]++; return t.blockStatus(o, l); }
        : Reflect.get(t, p, t)),
    });
    const delta = new DiskDelta(counted(now, 'now'), counted(base, 'base'));
    try {
      const changed: number[] = [];
      for (let at = 0; at < size; at += 1024 * 1024 * 1024) {
        for (const e of await delta.blockStatus(at, Math.min(1024 * 1024 * 1024, size - at))) {
          if (!e.zero) for (let u = e.offset / U; u < (e.offset + e.length) / U; u++) changed.push(Math.floor(u));
        }
      }
      assert.deepEqual([...new Set(changed)], [2000, Math.floor((size - 100) / U)]);
      assert.ok(calls.now + calls.base < 40, `${calls.now} + ${calls.base} block status calls`);
      assert.ok((await delta.read(size - 100, 100)).equals(Buffer.alloc(100, 3)));
    } finally {
      await now.close();
      await base.close();
    }
  });

  it('compares a last unit shorter than the others, against a base that ends inside it', async () => {
    const tail = 3 * 4096;
    const base = await disk('short-base.raw', 2 * U + tail, [[0, Buffer.alloc(U, 1)], [2 * U, Buffer.alloc(tail, 2)]]);
    // Unit 2 holds the base's tail and more; unit 3, past the base, only zeroes.
    const now = await disk('short-now.raw', 3 * U + 4096, [[0, Buffer.alloc(U, 1)], [2 * U, Buffer.alloc(tail, 2)], [2 * U + tail, Buffer.alloc(512, 3)]]);
    const same = await disk('short-same.raw', 2 * U + tail, [[0, Buffer.alloc(U, 1)], [2 * U, Buffer.alloc(tail, 2)]]);
    try {
      const changed = async (d: BlockDevice, b: BlockDevice) =>
        (await new DiskDelta(d, b).blockStatus(0, d.size)).filter((e) => !e.zero).map((e) => [e.offset, e.length]);
      assert.deepEqual(await changed(now, base), [[2 * U, U]], 'unit 2 changed beyond the base\'s end; unit 3 reads as zeroes on both');
      assert.deepEqual(await changed(same, base), [], 'a short last unit equal to the base\'s');
      const delta = new DiskDelta(now, base);
      for (let i = 0; i < 3; i++) {
        assert.deepEqual((await delta.blockStatus(0, now.size)).filter((e) => !e.zero).length, 1, `asked again (${i})`);
      }
      assert.ok((await delta.read(2 * U, U)).equals(await now.read(2 * U, U)));
    } finally {
      await now.close();
      await base.close();
      await same.close();
    }
  });

  it('of a disk from itself has nothing', async () => {
    const d = await disk('same.raw', 3 * U, [[U, Buffer.alloc(U, 5)]]);
    const delta = new DiskDelta(d, d);
    assert.deepEqual(await delta.blockStatus(0, 3 * U), [{ offset: 0, length: 3 * U, hole: true, zero: true }]);
    await d.close();
  });

  /**
   * `dev`, counting the bytes read from it, with the layers given, none (`'none'`), or its
   * own (left out).
   */
  function layered(dev: BlockDevice, layers?: DeviceLayer[] | 'none'): BlockDevice & { bytesRead: number } {
    const counted = Object.assign(Object.create(dev) as BlockDevice, { bytesRead: 0 });
    counted.read = async (offset: number, length: number, into?: Buffer) => {
      counted.bytesRead += length;
      return dev.read(offset, length, into);
    };
    if (layers === 'none') counted.layers = undefined;
    else if (layers) counted.layers = async () => layers;
    return counted;
  }

  it('tells where two layer stacks can differ: the layers above the ones they share', async () => {
    const d = await disk('stacks.raw', 8 * U, []);
    const shared = [{ id: 'p', stored: [[0, 8 * U]] as Array<[number, number]> }, { id: 'g', stored: [] }];
    const leaf = { id: 'leaf', stored: [[U, 2 * U], [5 * U, 6 * U]] as Array<[number, number]> };
    const snap = { id: 'snap', stored: [[U + 4096, 3 * U]] as Array<[number, number]> };
    try {
      assert.deepEqual(await unsharedRanges(layered(d, [leaf, ...shared]), layered(d, [snap, ...shared])), [[U, 3 * U], [5 * U, 6 * U]]);
      assert.deepEqual(await unsharedRanges(layered(d, [leaf, ...shared]), layered(d, shared)), [[U, 2 * U], [5 * U, 6 * U]], 'the base is the shared node itself');
      assert.deepEqual(await unsharedRanges(layered(d, shared), layered(d, shared)), []);
      assert.equal(await unsharedRanges(layered(d, [leaf]), layered(d, [snap])), undefined, 'nothing shared');
      assert.equal(await unsharedRanges(layered(d, [leaf, ...shared]), layered(d, 'none')), undefined, 'a device without layers');
      assert.equal(await unsharedRanges(layered(d, [leaf, shared[0]!]), layered(d, [snap, ...shared])), undefined, 'stacks that do not end alike');
    } finally {
      await d.close();
    }
  });

  it('reads only the units a layer of its own stores, and still leaves out those that read the same', async () => {
    const content: Array<[number, Buffer]> = [[0, Buffer.alloc(U, 1)], [2 * U, Buffer.alloc(U, 2)], [4 * U, Buffer.alloc(U, 3)], [6 * U, Buffer.alloc(U, 4)]];
    const base = await disk('lb.raw', 8 * U, content);
    // Units 2 and 4 rewritten since the base: 2 with new data, 4 with what it held.
    const now = await disk('ln.raw', 8 * U, [...content, [2 * U + 512, Buffer.alloc(512, 9)], [4 * U, Buffer.alloc(U, 3)]]);
    const shared = [{ id: 'parent', stored: [[0, 8 * U]] as Array<[number, number]> }];
    const disk1 = layered(now, [{ id: 'leaf', stored: [[2 * U, 3 * U], [4 * U, 5 * U]] }, ...shared]);
    const base1 = layered(base, [{ id: 'snapshot', stored: [] }, ...shared]);
    const delta = new DiskDelta(disk1, base1);
    try {
      const changed = (await delta.blockStatus(0, 8 * U)).filter((e) => !e.zero).map((e) => [e.offset / U, e.length / U]);
      assert.deepEqual(changed, [[2, 1]]);
      assert.equal(disk1.bytesRead, 2 * U, 'only units 2 and 4 read from the disk');
      assert.equal(base1.bytesRead, 2 * U, 'and from the base');
      assert.ok((await delta.read(2 * U, U)).equals(await now.read(2 * U, U)));
    } finally {
      await now.close();
      await base.close();
    }
  });

  it('over two nodes of a VHD tree, reads only what the nodes they do not share store', async () => {
    // parent (the data at the snapshot) <- base (the snapshot's own, empty node)
    //                                   <- leaf (what was written since)
    const size = 64 * U;
    const parent = join(dir, 'parent.vhd');
    await createDynamic(parent, size);
    const p = await VhdBlockDevice.open(parent);
    for (let u = 0; u < 64; u += 2) await p.write(u * U, Buffer.alloc(U, u + 1));
    await p.close();
    await createDifferencing(join(dir, 'base.vhd'), parent);
    await createDifferencing(join(dir, 'leaf.vhd'), parent);
    const w = await VhdBlockDevice.open(join(dir, 'leaf.vhd'));
    await w.write(10 * U + 4096, Buffer.alloc(4096, 0xee)); // unit 10: changed
    await w.write(21 * U, Buffer.alloc(U, 0xdd)); // unit 21: was a hole
    await w.write(30 * U, Buffer.alloc(U, 31)); // unit 30: rewritten as it was
    await w.close();
    const leaf = await VhdBlockDevice.open(join(dir, 'leaf.vhd'), { readOnly: true });
    const snap = await VhdBlockDevice.open(join(dir, 'base.vhd'), { readOnly: true });
    const [now, base] = [layered(leaf), layered(snap)];
    try {
      const delta = new DiskDelta(now, base);
      const changed = (await delta.blockStatus(0, size)).filter((e) => !e.zero).map((e) => [e.offset / U, e.length / U]);
      assert.deepEqual(changed, [[10, 1], [21, 1]]);
      assert.equal(now.bytesRead, 3 * U, 'the three units the leaf stores, of 32 with data');
      assert.ok(base.bytesRead <= 3 * U);
      assert.ok((await delta.read(21 * U, U)).equals(Buffer.alloc(U, 0xdd)));
      // The same answer as comparing everything, which reads every unit with data.
      const [now2, base2] = [layered(leaf, 'none'), layered(snap, 'none')];
      const full = new DiskDelta(now2, base2);
      assert.deepEqual(await full.blockStatus(0, size), await delta.blockStatus(0, size));
      assert.equal(now2.bytesRead, 33 * U);
    } finally {
      await leaf.close();
      await snap.close();
    }
  });
});
