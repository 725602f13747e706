/**
 * The raw-file adapter: the shared BlockDevice contract, then what is particular to it —
 * holes learned from reading an existing sparse file, zeroing that does not allocate what
 * is already zero, read-only files, and gathered writes landing byte-exact.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { FileBlockDevice } from '../../../src/storage/nbd/file-block-device.js';
import { runBlockDeviceContract } from '../block-device.contract.js';
import { KiB, MiB, makeRawFile, pattern, withTempDir } from './nbd-fixture.js';

runBlockDeviceContract('FileBlockDevice (sparse raw file)', async (size) => {
  const dir = await mkdtemp(join(tmpdir(), 'islet-nbd-contract-'));
  const path = join(dir, 'disk.raw');
  return {
    device: await FileBlockDevice.create(path, size, { granularity: 4 * KiB }),
    reopen: () => FileBlockDevice.open(path, { granularity: 4 * KiB }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('FileBlockDevice', () => {
  it('learns holes and data of an existing sparse file by reading it', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'sparse.raw');
      await makeRawFile(path, 4 * MiB, [
        { offset: MiB, data: pattern(64 * KiB, 1) },
        { offset: 3 * MiB, data: pattern(128 * KiB, 2) },
      ]);
      const d = await FileBlockDevice.open(path);
      try {
        const ex = await d.blockStatus(0, d.size);
        assert.deepEqual(ex.map((e) => [e.offset, e.length, e.zero, e.hole]), [
          [0, MiB, true, true],
          [MiB, 64 * KiB, false, false],
          [MiB + 64 * KiB, 2 * MiB - 64 * KiB, true, true],
          [3 * MiB, 128 * KiB, false, false],
          [3 * MiB + 128 * KiB, MiB - 128 * KiB, true, true],
        ]);
        // Sub-ranges are clipped exactly.
        const sub = await d.blockStatus(MiB - 100, 200);
        assert.deepEqual(sub.map((e) => [e.offset, e.length, e.zero]), [[MiB - 100, 100, true], [MiB, 100, false]]);
      } finally {
        await d.close();
      }
    });
  });

  it('reports a fully allocated file as data without reading it, and an empty one as holes', async () => {
    await withTempDir(async (dir) => {
      const full = join(dir, 'full.raw');
      await makeRawFile(full, MiB, [{ offset: 0, data: Buffer.alloc(MiB) }]); // zeroes, but allocated
      const d = await FileBlockDevice.open(full);
      assert.deepEqual(await d.blockStatus(0, MiB), [{ offset: 0, length: MiB, hole: false, zero: false }]);
      await d.close();
      const empty = join(dir, 'empty.raw');
      const e = await FileBlockDevice.create(empty, 3 * MiB);
      assert.deepEqual(await e.blockStatus(0, 3 * MiB), [{ offset: 0, length: 3 * MiB, hole: true, zero: true }]);
      await e.close();
    });
  });

  it('zeroing what is already zero allocates nothing unless NO_HOLE asks for it', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'thin.raw');
      const d = await FileBlockDevice.create(path, 16 * MiB);
      try {
        await d.write(MiB, pattern(64 * KiB, 3));
        await d.flush();
        const before = (await stat(path)).blocks;
        await d.writeZeroes(0, 16 * MiB); // only the written chunk needs real zeroes
        await d.flush();
        assert.ok((await stat(path)).blocks <= before, 'no new blocks for zeroing holes');
        assert.ok((await d.read(0, 16 * MiB)).every((b) => b === 0));
        await d.writeZeroes(8 * MiB, MiB, { mayTrim: false });
        await d.flush();
        assert.ok((await stat(path)).blocks >= before + (MiB / 512) * 0.9, 'NO_HOLE provisions the range');
      } finally {
        await d.close();
      }
    });
  });

  it('a read-only device refuses every write with EROFS', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'ro.raw');
      await makeRawFile(path, MiB, [{ offset: 0, data: pattern(4 * KiB, 4) }]);
      const d = await FileBlockDevice.open(path, { readOnly: true });
      try {
        assert.equal(d.readOnly, true);
        for (const op of [() => d.write(0, Buffer.alloc(512)), () => d.writeZeroes(0, 512), () => d.trim(0, 512)]) {
          await assert.rejects(op(), (e: NodeJS.ErrnoException) => e.code === 'EROFS');
        }
        assert.ok((await d.read(0, 4 * KiB)).equals(pattern(4 * KiB, 4)));
        await d.flush();
      } finally {
        await d.close();
      }
    });
  });

  it('gathers adjacent concurrent writes into few system calls without mixing them up', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'gather.raw');
      const d = await FileBlockDevice.create(path, 64 * MiB);
      try {
        const model = Buffer.alloc(d.size);
        // Out of order, adjacent, overlapping-free, in several sizes, all issued in one turn.
        const pieces = Array.from({ length: 200 }, (_, i) => ({ off: ((i * 37) % 200) * 256 * KiB, len: 256 * KiB - ((i * 37) % 3) * 4 * KiB }));
        await Promise.all(pieces.map((p, i) => {
          const data = pattern(p.len, i + 1);
          data.copy(model, p.off);
          return d.write(p.off, data);
        }));
        assert.ok((await d.read(0, d.size)).equals(model));
      } finally {
        await d.close();
      }
    });
  });
});
