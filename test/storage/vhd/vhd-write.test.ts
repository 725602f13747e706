/**
 * Writes under concurrency, as the NBD server will issue them: many requests in flight on one
 * file, several in the same block, others allocating neighbouring blocks. The content must be
 * exact (our reads, qemu-img compare) and survive a close and reopen.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDifferencing, createDynamic, open, VhdChain } from '../../../src/storage/vhd/index.js';
import { patternBuffer, prng, randInt, run, withTempDir } from './vhd-helpers.js';

const MiB = 1024 * 1024;

test('concurrent non-overlapping writes, same and different blocks', async () => {
  await withTempDir(async (dir) => {
    const size = 32 * MiB;
    const path = join(dir, 'c.vhd');
    await createDynamic(path, size);
    const expected = Buffer.alloc(size);
    const f = await open(path);
    const rnd = prng(9);
    // Shuffle 4 KiB slots, then write 400 of them 64 at a time.
    const slots = Array.from({ length: size / 4096 }, (_, i) => i);
    for (let i = slots.length - 1; i > 0; i--) {
      const j = randInt(rnd, i + 1);
      [slots[i], slots[j]] = [slots[j]!, slots[i]!];
    }
    const chosen = slots.slice(0, 400);
    for (let k = 0; k < chosen.length; k += 64) {
      await Promise.all(
        chosen.slice(k, k + 64).map((slot) => {
          const data = patternBuffer(4096, slot);
          data.copy(expected, slot * 4096);
          return f.write(slot * 4096, data);
        }),
      );
    }
    await f.close();
    const c = await VhdChain.open(path, { readOnly: true });
    assert.ok((await c.readAll()).equals(expected));
    await c.close();
    await writeFile(join(dir, 'expected.raw'), expected);
    const r = await run('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', path, join(dir, 'expected.raw')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});

test('concurrent writes into a differencing leaf keep parent data in untouched sectors', async () => {
  await withTempDir(async (dir) => {
    const size = 8 * MiB;
    const base = join(dir, 'base.vhd');
    await createDynamic(base, size);
    const b = await open(base);
    const parentData = patternBuffer(size, 77);
    await b.write(0, parentData);
    await b.close();
    const leaf = join(dir, 'leaf.vhd');
    await createDifferencing(leaf, base);
    const expected = Buffer.from(parentData);
    const c = await VhdChain.open(leaf);
    const rnd = prng(5);
    const writes: Promise<void>[] = [];
    for (let sector = 0; sector < size / 512; sector += 1 + randInt(rnd, 40)) {
      const data = Buffer.alloc(512, sector & 0xff);
      data.copy(expected, sector * 512);
      writes.push(c.write(sector * 512, data));
    }
    await Promise.all(writes);
    assert.ok((await c.readAll()).equals(expected));
    await c.close();
    const again = await VhdChain.open(leaf, { readOnly: true });
    assert.ok((await again.readAll()).equals(expected), 'after reopen');
    await again.close();
  });
});

test('misuse is refused with typed errors', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'x.vhd');
    await createDynamic(path, 4 * MiB);
    await assert.rejects(createDynamic(path, 4 * MiB), /EEXIST/);
    await assert.rejects(createDynamic(join(dir, 'odd.vhd'), 1000), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(createDynamic(join(dir, 'huge.vhd'), 2041 * 1024 * MiB), { code: 'BAD_SIZE' });
    const ro = await open(path, { readOnly: true });
    await assert.rejects(ro.write(0, Buffer.alloc(512)), { code: 'READ_ONLY' });
    await assert.rejects(ro.read(100, 512), { code: 'UNALIGNED' });
    await assert.rejects(ro.read(4 * MiB, 512), { code: 'OUT_OF_BOUNDS' });
    await ro.close();
    await assert.rejects(ro.read(0, 512), { code: 'CLOSED' });
    const rw = await open(path);
    await assert.rejects(rw.resize(2 * MiB), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(rw.setParent(path), { code: 'NOT_DIFFERENCING' });
    await rw.close();
  });
});
