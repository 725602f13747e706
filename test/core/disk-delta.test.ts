/**
 * DiskDelta: a disk as its differences from a base, over real sparse files
 * (FileBlockDevice). Only the units whose content differs read as data, whole, zeroes
 * included where the disk now holds zeroes; the rest reads and reports as zero holes; a
 * disk larger than its base differs wherever its tail holds data.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DELTA_UNIT, DiskDelta } from '../../src/core/disk-delta.js';
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

  it('of a disk from itself has nothing', async () => {
    const d = await disk('same.raw', 3 * U, [[U, Buffer.alloc(U, 5)]]);
    const delta = new DiskDelta(d, d);
    assert.deepEqual(await delta.blockStatus(0, 3 * U), [{ offset: 0, length: 3 * U, hole: true, zero: true }]);
    await d.close();
  });
});
