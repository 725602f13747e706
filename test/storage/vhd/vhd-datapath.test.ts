/**
 * The fast data path of the VHD library: reads that span blocks held by different layers
 * (cached per block for the parents) against libvhdi, writes racing to allocate the same
 * block, bitmaps kept in memory until a flush (a crash before it leaves old or new bytes,
 * never garbage), the forced sync when too many are dirty, and the block device port.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BitmapCache } from '../../../src/storage/vhd/bitmap-cache.js';
import { coalesceInto, createDifferencing, createDynamic, open, VhdChain } from '../../../src/storage/vhd/index.js';
import { VhdBlockDevice } from '../../../src/storage/vhd/vhd-block-device.js';
import { spawnModule } from '../../helpers/spawn-ts.js';
import { runBlockDeviceContract } from '../block-device.contract.js';
import { patternBuffer, prng, pyvhdiDump, randInt, run, withTempDir } from './vhd-helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BLOCK = 2 * MiB;

/** What a layer stores: the bytes, and which sectors some layer holds. */
interface Model {
  bytes: Buffer;
  stored: Uint8Array;
}

function record(model: Model, offset: number, data: Buffer): void {
  data.copy(model.bytes, offset);
  model.stored.fill(1, Math.floor(offset / 512), Math.ceil((offset + data.length) / 512));
}

/** Writes `data` at `offset` into the VHD at `path` and into `model`. */
async function put(path: string, model: Model, offset: number, data: Buffer): Promise<void> {
  const f = await open(path);
  await f.write(offset, data);
  await f.close();
  record(model, offset, data);
}

/** Byte ranges of sectors no layer stores. */
function holes(model: Model): [number, number][] {
  const out: [number, number][] = [];
  model.stored.forEach((v, s) => {
    if (v) return;
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === s * 512) last[1] += 512;
    else out.push([s * 512, 512]);
  });
  return out;
}

/**
 * base ← mid ← leaf over 12 blocks: some blocks only the base holds, some a parent holds
 * partly over the base, some only the leaf, some nobody; 4 KiB granularity (libvhdi reads
 * sub-byte bitmaps wrongly, see vhd-chain.test.ts).
 */
async function layeredChain(dir: string): Promise<{ leaf: string; paths: string[]; model: Model }> {
  const size = 12 * BLOCK;
  const model = { bytes: Buffer.alloc(size), stored: new Uint8Array(size / 512) };
  const [base, mid, leaf] = ['base.vhd', 'mid.vhd', 'leaf.vhd'].map((n) => join(dir, n)) as [string, string, string];
  await createDynamic(base, size);
  await put(base, model, 0, patternBuffer(4 * BLOCK, 1)); // blocks 0-3 whole
  await put(base, model, 5 * BLOCK + 64 * KiB, patternBuffer(512 * KiB, 2)); // block 5 partly
  await createDifferencing(mid, base);
  await put(mid, model, BLOCK + 4 * KiB, patternBuffer(40 * KiB, 3)); // over the base, block 1
  await put(mid, model, 6 * BLOCK, patternBuffer(BLOCK, 4)); // block 6 whole
  await put(mid, model, 8 * BLOCK + 12 * KiB, patternBuffer(4 * KiB, 5)); // one page of block 8
  await put(mid, model, 3 * BLOCK + BLOCK - 8 * KiB, patternBuffer(16 * KiB, 6)); // across blocks 3|4
  await createDifferencing(leaf, mid);
  await put(leaf, model, 2 * BLOCK + 100 * KiB, patternBuffer(300 * KiB, 7)); // over the base, block 2
  await put(leaf, model, 9 * BLOCK, patternBuffer(BLOCK, 8)); // block 9 whole
  await put(leaf, model, BLOCK + 8 * KiB, patternBuffer(8 * KiB, 9)); // over mid and base, block 1
  return { leaf, paths: [leaf, mid, base], model };
}

describe('VHD data path', () => {
  it('reads spanning blocks of every kind of owner match libvhdi, before and after leaf writes', async () => {
    await withTempDir(async (dir) => {
      const { leaf, paths, model: m } = await layeredChain(dir);
      const model = m.bytes;
      const oracle = join(dir, 'pyvhdi.raw');
      await pyvhdiDump(paths, oracle);
      assert.ok((await readFile(oracle)).equals(model), 'libvhdi agrees with the model');

      const chain = await VhdChain.open(leaf);
      const rnd = prng(3);
      const check = async (label: string): Promise<void> => {
        assert.ok((await chain.read(0, model.length)).equals(model), `${label}: whole disk`);
        for (let i = 0; i < 60; i++) {
          const off = randInt(rnd, model.length - 1);
          const len = 1 + randInt(rnd, Math.min(model.length - off, 5 * BLOCK));
          const into = i % 3 === 0 ? Buffer.alloc(len + 512) : undefined;
          const got = await chain.read(off, len, into);
          assert.ok(got.equals(model.subarray(off, off + len)), `${label}: ${off}+${len}`);
        }
      };
      // Out of order and concurrently first, so parent maps are resolved by racing readers.
      await Promise.all([11, 3, 7, 0, 5, 9, 1].map(async (b) => {
        assert.ok((await chain.read(b * BLOCK, BLOCK)).equals(model.subarray(b * BLOCK, (b + 1) * BLOCK)), `block ${b}`);
      }));
      await check('first');

      // Leaf writes over parent-owned, nobody-owned and leaf-owned sectors: parent maps are
      // cached by now and must stay right, the leaf's new sectors must show at once.
      // Whole pages, so that libvhdi can check them too; odd bytes come afterwards.
      const writes: [number, Buffer][] = [
        [BLOCK + 4 * KiB, patternBuffer(20 * KiB, 10)],
        [5 * BLOCK - 4 * KiB, patternBuffer(3 * BLOCK, 11)],
        [9 * BLOCK + 8 * KiB, patternBuffer(4 * KiB, 12)],
        [11 * BLOCK + 4 * KiB, patternBuffer(BLOCK - 8 * KiB, 13)],
      ];
      for (const [o, d] of writes) {
        await chain.write(o, d);
        record(m, o, d);
      }
      await check('after writes');
      const status = await chain.blockStatus(0, model.length);
      assert.deepEqual(status.filter((e) => !e.allocated).map((e) => [e.offset, e.length]), holes(m), 'holes are exactly what no layer stores');
      assert.ok(status.filter((e) => !e.allocated).every((e) => model.subarray(e.offset, e.offset + e.length).every((x) => x === 0)));
      await chain.flush();
      await pyvhdiDump(paths, oracle);
      assert.ok((await readFile(oracle)).equals(model), 'libvhdi reads the written leaf');
      for (const [o, d] of [[9 * BLOCK + 777, patternBuffer(1000, 14)], [3 * BLOCK - 5, patternBuffer(BLOCK + 11, 15)]] as const) {
        await chain.write(o, d);
        record(m, o, d);
      }
      await check('after byte writes');
      await chain.close();
    });
  });

  it('writes racing to allocate the same blocks allocate each once and land exactly', async () => {
    await withTempDir(async (dir) => {
      const size = 16 * MiB;
      const path = join(dir, 'race.vhd');
      await createDynamic(path, size);
      const f = await open(path);
      const model = Buffer.alloc(size);
      const rnd = prng(11);
      // Disjoint segments between random cuts: several start in each untouched block at
      // once, some span two or more blocks. Every other one is written, all concurrently.
      const cuts = [...new Set(Array.from({ length: 160 }, () => 512 * randInt(rnd, size / 512)))].sort((a, b) => a - b);
      const writes: Promise<void>[] = [];
      for (let i = 0; i + 1 < cuts.length; i += 2) {
        const data = patternBuffer(cuts[i + 1]! - cuts[i]!, 100 + i);
        data.copy(model, cuts[i]!);
        writes.push(f.write(cuts[i]!, data));
      }
      await Promise.all(writes);
      assert.ok((await f.read(0, size)).data.equals(model), 'read back by the writer');
      await f.close();
      const again = await open(path, { readOnly: true }); // validates every BAT entry, overlaps included
      assert.ok((await again.read(0, size)).data.equals(model), 'reopened: same bytes');
      await again.close();
      await writeFile(join(dir, 'model.raw'), model);
      const r = await run('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', path, join(dir, 'model.raw')]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    });
  });

  it('a write is in the file once it resolves; a process killed mid-write leaves old or new bytes only', async () => {
    await withTempDir(async (dir) => {
      const size = 8 * MiB;
      const base = join(dir, 'base.vhd');
      await createDynamic(base, size);
      const old = patternBuffer(size, 21);
      const b = await open(base);
      await b.write(0, old);
      await b.close();
      const at = MiB + 512;
      const len = 3 * MiB;
      const fresh = patternBuffer(len, 22);
      const read = async (leaf: string): Promise<Buffer> => {
        const c = await VhdChain.open(leaf, { readOnly: true });
        try {
          return await c.read(0, size);
        } finally {
          await c.close();
        }
      };
      const rnd = prng(5);
      for (let trial = 0; trial < 6; trial++) {
        const leaf = join(dir, `leaf-${trial}.vhd`);
        await createDifferencing(leaf, base);
        const child = spawnModule('test/storage/vhd/crash-writer.ts', [leaf, String(at), String(len), '22'], { stdio: ['ignore', 'pipe', 'inherit'] });
        const exited = new Promise((r) => child.once('exit', r));
        await new Promise<void>((resolve, reject) => {
          child.stdout!.once('data', () => resolve());
          child.once('exit', (c) => reject(new Error(`crash-writer exited ${c}`)));
        });
        await new Promise((r) => setTimeout(r, randInt(rnd, 25)));
        child.kill('SIGKILL');
        await exited;
        const got = await read(leaf);
        for (let s = 0; s < size / 512; s++) {
          const g = got.subarray(s * 512, (s + 1) * 512);
          const inWrite = s * 512 >= at && s * 512 < at + len;
          const isNew = inWrite && g.equals(fresh.subarray(s * 512 - at, s * 512 - at + 512));
          assert.ok(isNew || g.equals(old.subarray(s * 512, (s + 1) * 512)), `trial ${trial}: sector ${s} is neither old nor new`);
        }
      }

      // Within the process: once a write resolved, another reader of the file sees it.
      const leaf = join(dir, 'leaf.vhd');
      await createDifferencing(leaf, base);
      const dev = await VhdBlockDevice.open(leaf);
      await Promise.all(Array.from({ length: 12 }, (_, i) => dev.write(at + i * 256 * KiB, fresh.subarray(i * 256 * KiB, (i + 1) * 256 * KiB))));
      const expected = Buffer.from(old);
      fresh.copy(expected, at);
      assert.ok((await read(leaf)).equals(expected), 'resolved writes are in the file, before any flush');
      await dev.close();
    });
  });

  it('bitmap writes of a block asked for in one turn are one, and never overtake each other', async () => {
    const cache = new BitmapCache(16);
    cache.install(3, Buffer.alloc(512));
    const written: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const write = async (copy: Buffer): Promise<void> => {
      if (written.length === 0) await gate; // the first write is slow
      written.push(copy.subarray(0, 3).toString('hex'));
    };
    const bm = cache.hold(3);
    bm[0] = 1;
    const a = cache.persist(3, write);
    bm[1] = 1;
    const b = cache.persist(3, write);
    assert.equal(a, b, 'same turn: one write');
    await new Promise((r) => setImmediate(r));
    bm[2] = 1;
    const c = cache.persist(3, write);
    assert.notEqual(c, a);
    const waitAll = cache.persisted(3);
    cache.release(3);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(written, [], 'the second write waits for the first');
    release();
    await Promise.all([a, c, waitAll]);
    assert.deepEqual(written, ['010100', '010101']);
    assert.ok(cache.peek(3), 'back in the cache once written');
  });

  it('coalesce copies many blocks at once, and a stop half way then a rerun give the same parent', async () => {
    await withTempDir(async (dir) => {
      const size = 40 * BLOCK;
      const base = join(dir, 'base.vhd');
      const node = join(dir, 'node.vhd');
      const model = { bytes: Buffer.alloc(size), stored: new Uint8Array(size / 512) };
      await createDynamic(base, size);
      for (let b = 0; b < 40; b += 3) await put(base, model, b * BLOCK + 64 * KiB, patternBuffer(BLOCK / 2, 30 + b));
      await createDifferencing(node, base);
      const rnd = prng(17);
      for (let i = 0; i < 60; i++) {
        const len = 4 * KiB * (1 + randInt(rnd, 200));
        await put(node, model, 4 * KiB * randInt(rnd, (size - len) / (4 * KiB)), patternBuffer(len, 200 + i));
      }
      await put(node, model, 6 * BLOCK, Buffer.alloc(BLOCK)); // zeros over parent data: must land too
      const child = await open(node, { readOnly: true });
      const copies = ['stopped.vhd', 'straight.vhd'].map((n) => join(dir, n));
      for (const c of copies) await writeFile(c, await readFile(base));

      const stopped = await open(copies[0]!);
      let seen = 0;
      const stopAt = Math.floor(child.allocatedBlocks().length / 2);
      await assert.rejects(coalesceInto(child, stopped, { onBlock: () => { if (++seen > stopAt) throw new Error('stop'); } }), /stop/);
      assert.equal(seen, stopAt + 1, 'no block is started after the stop');
      await stopped.close();
      const resumed = await open(copies[0]!);
      const stats = await coalesceInto(child, resumed);
      await resumed.close();
      const straight = await open(copies[1]!);
      assert.deepEqual(await coalesceInto(child, straight), stats);
      await straight.close();
      await child.close();

      await writeFile(join(dir, 'model.raw'), model.bytes);
      for (const c of copies) {
        const r = await run('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', c, join(dir, 'model.raw')]);
        assert.equal(r.code, 0, `${c}: ${r.stdout}${r.stderr}`);
      }
    });
  });
});

runBlockDeviceContract('VhdBlockDevice (differencing leaf)', async (size) => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'islet-vhd-contract-'));
  const base = join(dir, 'base.vhd');
  const leaf = join(dir, 'leaf.vhd');
  await createDynamic(base, size);
  await createDifferencing(leaf, base);
  return {
    device: await VhdBlockDevice.open(leaf),
    reopen: () => VhdBlockDevice.open(leaf),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
