/**
 * The chain map's read-ahead: a reader going through the disk in order has the parents'
 * bitmaps of the next window resolved while it reads the current one (so the first read of
 * each window does not stall every reader on a round of bitmap reads), and a reader jumping
 * about does not pay for windows it never reads. The pieces it hands out are checked against
 * what each layer stores.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ChainMap, type Piece } from '../../../src/storage/vhd/chain-map.js';
import { createDifferencing, createDynamic, open, type VhdFile } from '../../../src/storage/vhd/index.js';
import { patternBuffer, withTempDir } from './vhd-helpers.js';

const MiB = 1024 * 1024;
/** Blocks resolved together by the chain map (its window). */
const WINDOW = 32;
const BLOCK = 2 * MiB;
const SPB = BLOCK / 512;

/** A 3-window disk: base with data in every window, a leaf over it with a few writes. */
async function withChain(fn: (layers: VhdFile[]) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    const [base, leaf] = [join(dir, 'base.vhd'), join(dir, 'leaf.vhd')];
    await createDynamic(base, 3 * WINDOW * BLOCK);
    const b = await open(base);
    for (const blk of [0, 5, WINDOW + 1, WINDOW + 7, 2 * WINDOW + 3]) await b.write(blk * BLOCK + 4096, patternBuffer(64 * 1024, blk));
    await b.close();
    await createDifferencing(leaf, base);
    const l = await open(leaf);
    await l.write(5 * BLOCK, patternBuffer(8192, 99));
    await l.write((WINDOW + 1) * BLOCK + 8192, patternBuffer(4096, 98));
    await l.close();
    const layers = [await open(leaf, { readOnly: true }), await open(base, { readOnly: true })];
    try {
      await fn(layers);
    } finally {
      await Promise.all(layers.map((x) => x.close()));
    }
  });
}

/** What the pieces should be, worked out layer by layer from each file's own block status. */
async function expectedPieces(layers: VhdFile[], sector: number, count: number): Promise<Piece[]> {
  const owner = new Int32Array(count).fill(-1);
  const where = new Float64Array(count);
  for (let i = layers.length - 1; i >= 0; i--) {
    for (const r of await layers[i]!.map(sector * 512, count * 512)) {
      if (r.fileOffset === null) continue;
      for (let s = 0; s < r.length / 512; s++) {
        const k = r.offset / 512 - sector + s;
        owner[k] = i;
        where[k] = r.fileOffset + s * 512;
      }
    }
  }
  const out: Piece[] = [];
  for (let k = 0; k < count; k++) {
    const last = out[out.length - 1];
    const layer = owner[k]!;
    const fileOffset = layer < 0 ? 0 : where[k]!;
    if (last && last.layer === layer && (layer < 0 || last.fileOffset + last.count * 512 === fileOffset)) last.count++;
    else out.push({ sector: sector + k, count: 1, layer, fileOffset });
  }
  return out;
}

test('a sequential reader has the next window resolved while it reads the current one', async () => {
  await withChain(async (layers) => {
    const map = new ChainMap(layers);
    const first = await map.pieces(0, 2 * SPB);
    assert.deepEqual(first, await expectedPieces(layers, 0, 2 * SPB));
    assert.equal(map.windowsResolved, 2, 'the first window and the one after it');
    // The second window was resolved ahead: reading it resolves the third, nothing more.
    for (let b = WINDOW; b < 2 * WINDOW; b += 2) {
      const got = await map.pieces(b * SPB, 2 * SPB);
      assert.deepEqual(got, await expectedPieces(layers, b * SPB, 2 * SPB), `blocks ${b}, ${b + 1}`);
    }
    assert.equal(map.windowsResolved, 3);
    // The last window: nothing lies past it to read ahead.
    assert.deepEqual(await map.pieces(2 * WINDOW * SPB, WINDOW * SPB), await expectedPieces(layers, 2 * WINDOW * SPB, WINDOW * SPB));
    assert.equal(map.windowsResolved, 3);
  });
});

test('a reader jumping about resolves only the windows it reads', async () => {
  await withChain(async (layers) => {
    const map = new ChainMap(layers);
    const at = (WINDOW + 1) * SPB;
    assert.deepEqual(await map.pieces(at, SPB), await expectedPieces(layers, at, SPB));
    assert.equal(map.windowsResolved, 1);
    assert.deepEqual(await map.pieces(5 * SPB, SPB), await expectedPieces(layers, 5 * SPB, SPB));
    assert.equal(map.windowsResolved, 2, 'window 0 after window 1 is no sequential read');
  });
});
