/**
 * @module
 * The contract every `BlockDevice` adapter passes (raw file, VHD chain, fakes). A test
 * file calls `runBlockDeviceContract(name, make)` with a factory that creates a fresh,
 * empty, writable device of the requested size; `reopen`, when given, opens the same
 * backing store again to check that flushed data persists.
 *
 * The property everything else rests on is checked against randomised histories: an
 * extent reported `zero` reads as zeroes, and no two extents overlap or leave a gap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BlockDevice, Extent } from '../../src/core/ports/block-device.js';

export interface ContractSubject {
  device: BlockDevice;
  /** Opens the same backing store again (after `device.close()`). */
  reopen?: () => Promise<BlockDevice>;
  /** Removes whatever `make` created. */
  cleanup?: () => Promise<void>;
}

export type MakeDevice = (size: number) => Promise<ContractSubject>;

const KiB = 1024;
const MiB = 1024 * KiB;

/** Deterministic bytes, never all zero. */
function bytes(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 7;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = (x >>> 24) | 1;
  }
  return b;
}

async function withDevice(make: MakeDevice, size: number, fn: (d: BlockDevice, s: ContractSubject) => Promise<void>): Promise<void> {
  const s = await make(size);
  try {
    await fn(s.device, s);
  } finally {
    await s.device.close().catch(() => undefined);
    await s.cleanup?.();
  }
}

/** Extents cover exactly the range, in order, and every `zero` one reads as zeroes. */
async function checkExtents(d: BlockDevice, offset: number, length: number, model?: Buffer): Promise<Extent[]> {
  const ex = await d.blockStatus(offset, length);
  assert.ok(ex.length > 0, 'at least one extent');
  let at = offset;
  for (const e of ex) {
    assert.equal(e.offset, at, 'extents are contiguous and in order');
    assert.ok(e.length > 0, 'extents are not empty');
    at += e.length;
    if (e.zero) {
      const got = await d.read(e.offset, e.length);
      assert.ok(got.every((b) => b === 0), `extent ${e.offset}+${e.length} claims zero but holds data`);
    }
    if (model && e.zero) assert.ok(model.subarray(e.offset, e.offset + e.length).every((b) => b === 0));
  }
  assert.equal(at, offset + length, 'extents end where the range ends');
  return ex;
}

export function runBlockDeviceContract(name: string, make: MakeDevice): void {
  describe(`BlockDevice contract: ${name}`, () => {
    it('a fresh device has its size, is writable and reads as zeroes, reported as zero', async () => {
      await withDevice(make, 4 * MiB, async (d) => {
        assert.equal(d.size, 4 * MiB);
        assert.equal(d.readOnly, false);
        const min = d.minBlockSize ?? 1;
        assert.ok(min >= 1 && (min & (min - 1)) === 0, 'minBlockSize is a power of two');
        assert.ok((await d.read(0, 4 * MiB)).every((b) => b === 0));
        const ex = await checkExtents(d, 0, 4 * MiB);
        assert.ok(ex.every((e) => e.zero), 'nothing written yet: all zero');
      });
    });

    it('reads back what was written, at any aligned offset and length', async () => {
      await withDevice(make, 4 * MiB, async (d) => {
        const min = d.minBlockSize ?? 1;
        const model = Buffer.alloc(d.size);
        const writes = [
          [0, 4 * KiB], [min * 3, min * 5], [MiB - min, 2 * min], [2 * MiB + 64 * KiB, 300 * KiB], [d.size - 8 * KiB, 8 * KiB],
        ] as const;
        let seed = 1;
        for (const [off, len] of writes) {
          const data = bytes(len, seed++);
          await d.write(off, data);
          data.copy(model, off);
        }
        assert.ok((await d.read(0, d.size)).equals(model));
        for (const [off, len] of writes) assert.ok((await d.read(off, len)).equals(model.subarray(off, off + len)));
        await checkExtents(d, 0, d.size, model);
      });
    });

    it('the later of two overlapping writes wins, and neighbours stay intact', async () => {
      await withDevice(make, MiB, async (d) => {
        const min = d.minBlockSize ?? 1;
        const a = bytes(64 * KiB, 11);
        const b = bytes(16 * KiB, 12);
        await d.write(0, a);
        await d.write(8 * KiB + (min > 512 ? 0 : 512), b);
        const expect = Buffer.from(a);
        b.copy(expect, 8 * KiB + (min > 512 ? 0 : 512));
        assert.ok((await d.read(0, 64 * KiB)).equals(expect));
      });
    });

    it('writeZeroes reads back as zeroes with and without permission to trim', async () => {
      await withDevice(make, 4 * MiB, async (d) => {
        const model = bytes(d.size, 21);
        await d.write(0, model);
        await d.writeZeroes(64 * KiB, 128 * KiB);
        model.fill(0, 64 * KiB, 192 * KiB);
        await d.writeZeroes(MiB, 2 * MiB, { mayTrim: false });
        model.fill(0, MiB, 3 * MiB);
        await d.writeZeroes(3 * MiB + 4 * KiB, 4 * KiB, { mayTrim: true, fua: true });
        model.fill(0, 3 * MiB + 4 * KiB, 3 * MiB + 8 * KiB);
        assert.ok((await d.read(0, d.size)).equals(model));
        await checkExtents(d, 0, d.size, model);
      });
    });

    it('trim is accepted and leaves the data around it alone', async () => {
      await withDevice(make, 2 * MiB, async (d) => {
        const model = bytes(d.size, 31);
        await d.write(0, model);
        await d.trim(256 * KiB, 512 * KiB);
        const got = await d.read(0, d.size);
        assert.ok(got.subarray(0, 256 * KiB).equals(model.subarray(0, 256 * KiB)));
        assert.ok(got.subarray(768 * KiB).equals(model.subarray(768 * KiB)));
        await d.writeZeroes(256 * KiB, 512 * KiB);
        assert.ok((await d.read(256 * KiB, 512 * KiB)).every((b) => b === 0));
        await checkExtents(d, 0, d.size);
      });
    });

    it('blockStatus of any sub-range covers it exactly, and zero extents never hide data', async () => {
      await withDevice(make, 8 * MiB, async (d) => {
        const model = Buffer.alloc(d.size);
        let seed = 41;
        const rnd = (n: number): number => {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          return seed % n;
        };
        const min = d.minBlockSize ?? 1;
        for (let i = 0; i < 40; i++) {
          const off = rnd(d.size / 512) * 512;
          const len = Math.min(d.size - off, (1 + rnd(256)) * 512);
          if (rnd(3) === 0) {
            await d.writeZeroes(off, len, { mayTrim: rnd(2) === 0 });
            model.fill(0, off, off + len);
          } else {
            const data = bytes(len, i + 100);
            await d.write(off, data);
            data.copy(model, off);
          }
        }
        assert.ok((await d.read(0, d.size)).equals(model));
        await checkExtents(d, 0, d.size, model);
        for (let i = 0; i < 20; i++) {
          const off = rnd(d.size / min) * min;
          const len = Math.max(min, Math.min(d.size - off, (1 + rnd(4096)) * min));
          await checkExtents(d, off, len, model);
        }
      });
    });

    it('many concurrent writes to disjoint ranges all land', async () => {
      await withDevice(make, 8 * MiB, async (d) => {
        const chunk = 64 * KiB;
        const model = Buffer.alloc(d.size);
        await Promise.all(Array.from({ length: 64 }, (_, i) => {
          const data = bytes(chunk, 200 + i);
          data.copy(model, i * 2 * chunk);
          return d.write(i * 2 * chunk, data);
        }));
        assert.ok((await d.read(0, d.size)).equals(model));
        const reads = await Promise.all(Array.from({ length: 64 }, (_, i) => d.read(i * 2 * chunk, chunk)));
        reads.forEach((r, i) => assert.ok(r.equals(model.subarray(i * 2 * chunk, (i * 2 + 1) * chunk))));
      });
    });

    it('the caller may reuse a written buffer once write resolves; read may fill a given buffer', async () => {
      await withDevice(make, MiB, async (d) => {
        const data = bytes(32 * KiB, 51);
        const copy = Buffer.from(data);
        await d.write(4 * KiB, data);
        data.fill(0xee);
        const into = Buffer.alloc(64 * KiB, 0x55);
        const got = await d.read(4 * KiB, 32 * KiB, into);
        assert.equal(got.length, 32 * KiB);
        assert.ok(got.equals(copy));
      });
    });

    it('refuses ranges outside the device with a RangeError and changes nothing', async () => {
      await withDevice(make, MiB, async (d) => {
        const data = bytes(8 * KiB, 61);
        await d.write(0, data);
        const bad = [[MiB - 4 * KiB, 8 * KiB], [MiB, 512], [-512, 512], [2 ** 60, 512]] as const;
        for (const [off, len] of bad) {
          await assert.rejects(d.read(off, len), RangeError);
          await assert.rejects(d.write(off, Buffer.alloc(len)), RangeError);
          await assert.rejects(d.writeZeroes(off, len), RangeError);
          await assert.rejects(d.trim(off, len), RangeError);
          await assert.rejects(d.blockStatus(off, len), RangeError);
        }
        assert.ok((await d.read(0, 8 * KiB)).equals(data));
        assert.ok((await d.read(MiB - 4 * KiB, 4 * KiB)).every((b) => b === 0));
      });
    });

    it('flushed writes survive closing and reopening', async () => {
      const s = await make(2 * MiB);
      try {
        if (!s.reopen) return;
        const data = bytes(100 * KiB, 71);
        await s.device.write(300 * KiB, data, { fua: true });
        await s.device.write(MiB, data);
        await s.device.flush();
        await s.device.close();
        s.device = await s.reopen();
        assert.ok((await s.device.read(300 * KiB, 100 * KiB)).equals(data));
        assert.ok((await s.device.read(MiB, 100 * KiB)).equals(data));
        await checkExtents(s.device, 0, s.device.size);
      } finally {
        await s.device.close().catch(() => undefined);
        await s.cleanup?.();
      }
    });
  });
}
