/**
 * Differencing chains: a 3-deep chain read by libvhdi (pyvhdi) as the oracle, sector-precise
 * fall-through, re-parenting, coalesce and copy, and the validation that refuses loops, chains
 * too deep, wrong parents and missing parents.
 */
import assert from 'node:assert/strict';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  coalesceInto,
  copyAllocated,
  createDifferencing,
  createDynamic,
  open,
  VhdChain,
  VhdError,
} from '../../../src/storage/vhd/index.js';
import { patternBuffer, prng, pyvhdiDump, randInt, withTempDir } from './vhd-helpers.js';

const MiB = 1024 * 1024;

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof VhdError && e.code === code);
}

/**
 * base ← mid ← leaf with overlapping random writes at every level, mirrored into `expected`.
 * `grain` 4096 keeps every bitmap byte 0x00 or 0xFF: libvhdi (20210425 and HEAD) decodes a VHD
 * bitmap byte as `byte >> (7 - bit)` without masking, so a clear bit after a set one in the
 * same byte reads as allocated. Sub-4K chains are checked against our model instead.
 */
async function buildChain(dir: string, size: number, grain = 4096): Promise<{ paths: string[]; expected: Buffer }> {
  const [base, mid, leaf] = ['base.vhd', 'mid.vhd', 'leaf.vhd'].map((n) => join(dir, n)) as [string, string, string];
  const expected = Buffer.alloc(size);
  await createDynamic(base, size);
  const rnd = prng(42);
  let seed = 100;
  const scribble = async (path: string, n: number): Promise<void> => {
    const chain = await VhdChain.open(path);
    for (let i = 0; i < n; i++) {
      const len = grain * (1 + randInt(rnd, (i % 4 === 0 ? 300_000 : 5000) / grain));
      const off = grain * randInt(rnd, (size - len) / grain);
      const data = i % 9 === 0 ? Buffer.alloc(len) : patternBuffer(len, seed++);
      await chain.write(off, data);
      data.copy(expected, off);
    }
    await chain.close();
  };
  await scribble(base, 40);
  await createDifferencing(mid, base);
  await scribble(mid, 40);
  await createDifferencing(leaf, mid);
  await scribble(leaf, 40);
  return { paths: [leaf, mid, base], expected };
}

test('a 3-deep chain written with byte-granular writes reads back exactly', async () => {
  await withTempDir(async (dir) => {
    const { paths, expected } = await buildChain(dir, 24 * MiB, 1);
    const chain = await VhdChain.open(paths[0]!, { readOnly: true });
    assert.ok((await chain.readAll()).equals(expected));
    await chain.close();
  });
});

test('a 3-deep chain reads the same through us and through libvhdi', async () => {
  await withTempDir(async (dir) => {
    const size = 24 * MiB;
    const { paths, expected } = await buildChain(dir, size);
    const chain = await VhdChain.open(paths[0]!, { readOnly: true });
    assert.equal(chain.layers.length, 3);
    assert.ok((await chain.readAll()).equals(expected), 'our chain read');
    // Odd offsets and lengths across block boundaries.
    for (const [o, l] of [[1, 1], [2 * MiB - 3, 7], [5 * MiB + 100, 3 * MiB + 17]] as const) {
      assert.ok((await chain.read(o, l)).equals(expected.subarray(o, o + l)));
    }
    await chain.close();
    const out = join(dir, 'pyvhdi.raw');
    assert.equal(await pyvhdiDump(paths, out), size);
    assert.ok((await readFile(out)).equals(expected), 'libvhdi chain read');
  });
});

test('sector-level fall-through: child sectors mask the parent only where written', async () => {
  await withTempDir(async (dir) => {
    const base = join(dir, 'b.vhd');
    const child = join(dir, 'c.vhd');
    await createDynamic(base, 4 * MiB);
    const b = await open(base);
    await b.write(0, Buffer.alloc(2 * MiB, 0xaa));
    await b.close();
    await createDifferencing(child, base);
    const c = await VhdChain.open(child);
    await c.write(8 * 512, Buffer.alloc(8 * 512, 0xcc));
    await c.write(20 * 512, Buffer.alloc(512)); // zeros in a child mask the parent
    const own = await c.leaf.read(0, 32 * 512);
    assert.deepEqual([...own.present.subarray(0, 24)], [...Array(8).fill(0), ...Array(8).fill(1), ...Array(4).fill(0), 1, 0, 0, 0]);
    const data = await c.read(0, 32 * 512);
    assert.ok(data.subarray(0, 8 * 512).every((x) => x === 0xaa));
    assert.ok(data.subarray(8 * 512, 16 * 512).every((x) => x === 0xcc));
    assert.ok(data.subarray(16 * 512, 20 * 512).every((x) => x === 0xaa));
    assert.ok(data.subarray(20 * 512, 21 * 512).every((x) => x === 0));
    assert.deepEqual(await c.blockStatus(0, 4 * MiB), [
      { offset: 0, length: 2 * MiB, allocated: true },
      { offset: 2 * MiB, length: 2 * MiB, allocated: false },
    ]);
    assert.deepEqual(await c.leaf.blockStatus(0, 32 * 512), [
      { offset: 0, length: 4096, allocated: false },
      { offset: 4096, length: 4096, allocated: true },
      { offset: 8192, length: 2048, allocated: false },
      { offset: 10240, length: 512, allocated: true },
      { offset: 10752, length: 5632, allocated: false },
    ]);
    const extents = [];
    for await (const e of c.extents({ chunkSize: MiB })) extents.push([e.offset, e.data.length]);
    assert.deepEqual(extents, [[0, MiB], [MiB, MiB]]);
    await c.close();
  });
});

test('zeros: nothing allocated on a root disk, recorded in a child', async () => {
  await withTempDir(async (dir) => {
    const base = join(dir, 'b.vhd');
    await createDynamic(base, 8 * MiB);
    const b = await open(base);
    await b.write(0, Buffer.alloc(4 * MiB));
    assert.deepEqual(b.allocatedBlocks(), []);
    await b.write(2 * MiB, Buffer.alloc(MiB, 1));
    await b.write(2 * MiB, Buffer.alloc(MiB)); // zeros over stored data must be written
    assert.ok((await b.read(2 * MiB, MiB)).data.every((x) => x === 0));
    await b.close();
    await createDifferencing(join(dir, 'c.vhd'), base);
    const c = await open(join(dir, 'c.vhd'));
    await c.write(6 * MiB, Buffer.alloc(4096));
    assert.deepEqual(c.allocatedBlocks(), [3]);
    await c.close();
  });
});

for (const grain of [1, 4096]) {
  test(`coalesce the middle node into the base, re-parent the leaf (${grain}-byte writes)`, async () => {
    await withTempDir(async (dir) => {
      const size = 16 * MiB;
      const { paths, expected } = await buildChain(dir, size, grain);
      const [leaf, mid, base] = paths as [string, string, string];
      const midFile = await open(mid, { readOnly: true });
      const baseFile = await open(base);
      const stats = await coalesceInto(midFile, baseFile);
      assert.ok(stats.bytes > 0);
      await Promise.all([midFile.close(), baseFile.close()]);
      const leafFile = await open(leaf);
      await leafFile.setParent(base);
      const baseUuid = (await readFile(base)).subarray(-512 + 68, -512 + 84).toString('hex');
      assert.equal(leafFile.parentUuid!.replace(/-/g, ''), baseUuid);
      await leafFile.close();
      await rename(mid, join(dir, 'gone.vhd'));
      const chain = await VhdChain.open(leaf, { readOnly: true });
      assert.equal(chain.layers.length, 2);
      assert.ok((await chain.readAll()).equals(expected));
      await chain.close();
      if (grain % 4096 === 0) {
        const out = join(dir, 'py.raw');
        await pyvhdiDump([leaf, base], out);
        assert.ok((await readFile(out)).equals(expected));
      }
    });
  });
}

test('copyAllocated flattens a chain into a new dynamic disk', async () => {
  await withTempDir(async (dir) => {
    const size = 16 * MiB;
    const { paths, expected } = await buildChain(dir, size);
    const src = await VhdChain.open(paths[0]!, { readOnly: true });
    const flat = join(dir, 'flat.vhd');
    await createDynamic(flat, 2 * MiB); // grown to the chain's size by the copy
    const dst = await open(flat);
    await copyAllocated(src, dst);
    assert.equal(dst.size, size);
    await Promise.all([src.close(), dst.close()]);
    const check = await VhdChain.open(flat, { readOnly: true });
    assert.ok((await check.readAll()).equals(expected));
    await check.close();
  });
});

test('validation: loop, depth, parent UUID, missing parent', async () => {
  await withTempDir(async (dir) => {
    const p = (n: string): string => join(dir, n);
    await createDynamic(p('root.vhd'), 4 * MiB);
    await createDifferencing(p('a.vhd'), p('root.vhd'));
    await createDifferencing(p('b.vhd'), p('a.vhd'));
    // A → B → A
    const a = await open(p('a.vhd'));
    await a.setParent(p('b.vhd'));
    await a.close();
    await rejectsWith(VhdChain.open(p('b.vhd')), 'PARENT_LOOP');

    // 100 layers deep: refused at the default limit, fine when allowed.
    await createDifferencing(p('d0.vhd'), p('root.vhd'));
    for (let i = 1; i < 100; i++) await createDifferencing(p(`d${i}.vhd`), p(`d${i - 1}.vhd`));
    await rejectsWith(VhdChain.open(p('d99.vhd')), 'CHAIN_TOO_DEEP');
    const deep = await VhdChain.open(p('d99.vhd'), { maxDepth: 101, readOnly: true });
    assert.equal(deep.layers.length, 101);
    await deep.close();

    // A parent replaced by another file of the same name.
    await createDynamic(p('root2.vhd'), 4 * MiB);
    await createDifferencing(p('c.vhd'), p('root2.vhd'));
    await rename(p('root.vhd'), p('root-old.vhd'));
    await rename(p('root2.vhd'), p('root.vhd'));
    await rejectsWith(VhdChain.open(p('d0.vhd')), 'PARENT_UUID_MISMATCH');
    await rejectsWith(VhdChain.open(p('c.vhd')), 'PARENT_NOT_FOUND');
  });
});
