/**
 * Interoperability with qemu-img as the oracle: our dynamic and fixed VHDs read by qemu with
 * the right size and content, and qemu's VHDs (creators `qemu` and `qem2`) read and written
 * by us.
 */
import assert from 'node:assert/strict';
import { open as openFile, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDynamic, createFixed, DiskType, open, VhdChain } from '../../../src/storage/vhd/index.js';
import { patternBuffer, prng, randInt, run, withTempDir } from './vhd-helpers.js';

const MiB = 1024 * 1024;

async function qemuInfo(path: string): Promise<{ 'virtual-size': number; format: string }> {
  const r = await run('qemu-img', ['info', '-f', 'vpc', '--output', 'json', path]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function qemuCompare(vhd: string, raw: string): Promise<void> {
  const r = await run('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', vhd, raw]);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /Images are identical/);
}

/** Random sector-aligned writes mirrored into `expected`. */
async function scatterWrites(write: (off: number, data: Buffer) => Promise<void>, expected: Buffer, seed: number, n: number): Promise<void> {
  const rnd = prng(seed);
  for (let i = 0; i < n; i++) {
    const sectors = 1 + randInt(rnd, i % 5 === 0 ? 8192 : 64);
    const start = randInt(rnd, expected.length / 512 - sectors) * 512;
    const data = i % 7 === 0 ? Buffer.alloc(sectors * 512) : patternBuffer(sectors * 512, seed * 1000 + i);
    await write(start, data);
    data.copy(expected, start);
  }
}

test('qemu-img reads our dynamic VHD: size and content', async () => {
  await withTempDir(async (dir) => {
    const size = 96 * MiB + 512 * 3;
    const vhd = join(dir, 'ours.vhd');
    await createDynamic(vhd, size);
    const expected = Buffer.alloc(size);
    const f = await open(vhd);
    await scatterWrites((o, d) => f.write(o, d), expected, 1, 120);
    // Whole blocks, a block's tail, the last sector.
    await f.write(4 * MiB, Buffer.alloc(2 * MiB, 0x5a));
    expected.fill(0x5a, 4 * MiB, 6 * MiB);
    await f.write(size - 512, Buffer.alloc(512, 0xee));
    expected.fill(0xee, size - 512);
    await f.close();
    await writeFile(join(dir, 'expected.raw'), expected);
    const info = await qemuInfo(vhd);
    assert.equal(info['virtual-size'], size);
    await qemuCompare(vhd, join(dir, 'expected.raw'));
    // And we read back the same bytes.
    const chain = await VhdChain.open(vhd, { readOnly: true });
    assert.ok((await chain.readAll()).equals(expected));
    await chain.close();
  });
});

test('unaligned chain writes land where qemu expects them', async () => {
  await withTempDir(async (dir) => {
    const size = 8 * MiB;
    const vhd = join(dir, 'ours.vhd');
    await createDynamic(vhd, size);
    const expected = Buffer.alloc(size);
    const chain = await VhdChain.open(vhd);
    const rnd = prng(7);
    for (let i = 0; i < 60; i++) {
      const len = 1 + randInt(rnd, 3000);
      const off = randInt(rnd, size - len);
      const data = patternBuffer(len, 500 + i);
      await chain.write(off, data);
      data.copy(expected, off);
    }
    await chain.close();
    await writeFile(join(dir, 'expected.raw'), expected);
    await qemuCompare(vhd, join(dir, 'expected.raw'));
  });
});

test('qemu-img reads our fixed VHD (thick: every byte allocated)', async () => {
  await withTempDir(async (dir) => {
    const size = 12 * MiB;
    const vhd = join(dir, 'fixed.vhd');
    await createFixed(vhd, size);
    const expected = Buffer.alloc(size);
    assert.ok((await stat(vhd)).blocks * 512 >= size, 'thick: really allocated');
    const f = await open(vhd);
    assert.equal(f.diskType, DiskType.Fixed);
    await scatterWrites((o, d) => f.write(o, d), expected, 2, 40);
    await f.resize(16 * MiB);
    await f.write(15 * MiB, Buffer.alloc(MiB, 0x33));
    await f.close();
    const grown = Buffer.concat([expected, Buffer.alloc(3 * MiB), Buffer.alloc(MiB, 0x33)]);
    await writeFile(join(dir, 'expected.raw'), grown);
    assert.equal((await qemuInfo(vhd))['virtual-size'], 16 * MiB);
    await qemuCompare(vhd, join(dir, 'expected.raw'));
  });
});

for (const opts of ['subformat=dynamic', 'subformat=dynamic,force_size=on', 'subformat=fixed']) {
  test(`qemu-img convert -O vpc -o ${opts}: we read and write it`, async () => {
    await withTempDir(async (dir) => {
      const rawSize = 40 * MiB;
      const raw = Buffer.alloc(rawSize);
      patternBuffer(3 * MiB, 11).copy(raw, MiB);
      patternBuffer(4096, 12).copy(raw, 20 * MiB + 512);
      patternBuffer(MiB, 13).copy(raw, rawSize - MiB);
      await writeFile(join(dir, 'src.raw'), raw);
      const vhd = join(dir, 'qemu.vhd');
      const r = await run('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', opts, join(dir, 'src.raw'), vhd]);
      assert.equal(r.code, 0, r.stderr);
      const f = await open(vhd);
      assert.match(f.footer.creatorApp, /^(qemu|qem2)$/);
      assert.ok(f.size >= rawSize);
      const expected = Buffer.concat([raw, Buffer.alloc(f.size - rawSize)]);
      const chain = await VhdChain.open(vhd, { readOnly: true });
      assert.ok((await chain.readAll()).equals(expected), 'content read from the qemu VHD');
      await chain.close();
      // Our writes into qemu's layout (new blocks appended after qemu's) stay readable by qemu.
      await scatterWrites((o, d) => f.write(o, d), expected, 3, 30);
      await f.close();
      await writeFile(join(dir, 'expected.raw'), expected);
      await qemuCompare(vhd, join(dir, 'expected.raw'));
    });
  });
}

test('growing past the BAT padding relocates the BAT; qemu agrees', async () => {
  await withTempDir(async (dir) => {
    const vhd = join(dir, 'grow.vhd');
    await createDynamic(vhd, 32 * MiB);
    const f = await open(vhd);
    await f.write(MiB, Buffer.alloc(MiB, 1));
    const tableBefore = f.header!.tableOffset;
    await f.resize(200 * MiB); // 100 entries: still inside the one-sector BAT
    assert.equal(f.header!.tableOffset, tableBefore);
    await f.resize(300 * MiB); // 150 entries: the BAT moves to the end
    assert.notEqual(f.header!.tableOffset, tableBefore);
    await f.write(290 * MiB, Buffer.alloc(MiB, 2));
    await f.close();
    // The expected image is written sparse so the oracle stays fast.
    const raw = join(dir, 'expected.raw');
    await writeFile(raw, Buffer.alloc(0));
    await truncate(raw, 300 * MiB);
    const fh = await openFile(raw, 'r+');
    await fh.write(Buffer.alloc(MiB, 1), 0, MiB, MiB);
    await fh.write(Buffer.alloc(MiB, 2), 0, MiB, 290 * MiB);
    await fh.close();
    assert.equal((await qemuInfo(vhd))['virtual-size'], 300 * MiB);
    await qemuCompare(vhd, raw);
    const again = await open(vhd, { readOnly: true });
    assert.deepEqual(again.allocatedBlocks(), [0, 145]);
    await again.close();
    assert.equal((await readFile(vhd)).subarray(-512).toString('latin1', 0, 8), 'conectix');
  });
});
