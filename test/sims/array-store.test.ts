/**
 * The shared copy-on-write block store of the array simulators: clones share blocks until
 * written, writes copy shared blocks, unmap releases them, space is counted from real
 * allocations, a refused allocation changes nothing, and everything survives a reopen.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArrayStore, NoSuchLunError } from '../../sims/array-store/array-store.js';

const KiB = 1024;
const BS = 64 * KiB;

function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 7;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = (x >>> 24) | 1;
  }
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('array store (copy-on-write blocks shared by clones)', () => {
  let root: string;
  let n = 0;
  const fresh = async (): Promise<{ dir: string; store: ArrayStore }> => {
    const dir = join(root, `s${n++}`);
    return { dir, store: await ArrayStore.open(dir, { blockSize: BS }) };
  };
  before(async () => {
    root = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), 'array-store-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads back what was written, zeros elsewhere, across partial and whole blocks', async () => {
    const { store } = await fresh();
    await store.create('a', 1024 * KiB);
    const data = pattern(3 * BS + 777, 1);
    await store.write('a', 1000, data);
    assert.ok((await store.read('a', 1000, data.length)).equals(data));
    assert.ok((await store.read('a', 0, 1000)).every((b) => b === 0));
    assert.ok((await store.read('a', 1000 + data.length, 1024 * KiB - 1000 - data.length)).every((b) => b === 0));
    assert.equal(store.mappedBytes('a'), 4 * BS);
    assert.equal(store.allocatedBytes(), 4 * BS);
    await assert.rejects(store.write('a', 1024 * KiB - 10, Buffer.alloc(11)), RangeError);
    await assert.rejects(store.read('nope', 0, 1), NoSuchLunError);
    await store.close();
  });

  it('a clone costs nothing until written, and a write copies only the blocks it touches', async () => {
    const { store } = await fresh();
    await store.create('origin', 16 * BS);
    await store.write('origin', 0, pattern(8 * BS, 2));
    const before = sha(await store.read('origin', 0, 16 * BS));
    await store.clone('origin', 'clone');
    assert.equal(store.allocatedBytes(), 8 * BS);
    assert.equal(store.exclusiveBytes('origin'), 0);
    assert.equal(store.distinctBytes(['origin', 'clone']), 8 * BS);
    await store.write('clone', BS + 10, Buffer.from('changed'));
    assert.equal(store.allocatedBytes(), 9 * BS);
    assert.equal(store.exclusiveBytes('clone'), BS);
    assert.equal(sha(await store.read('origin', 0, 16 * BS)), before);
    assert.equal((await store.read('clone', BS + 10, 7)).toString(), 'changed');
    await store.write('origin', 0, pattern(BS, 3));
    assert.equal(store.allocatedBytes(), 10 * BS);
    assert.ok((await store.read('clone', 0, BS)).equals(pattern(8 * BS, 2).subarray(0, BS)));
    assert.equal(store.bytesOnlyIn(['clone'], ['origin']), 2 * BS);
    await store.close();
  });

  it('a long write over own, shared, fresh and freed blocks, partial at both ends, lands byte for byte; the snapshot keeps its own', async () => {
    // Whole blocks go to the file in runs of neighbours; every kind of block in one write
    // checks that the runs break where the data file does and that sharing stays right.
    const { store } = await fresh();
    await store.create('v', 64 * BS);
    const model = Buffer.alloc(64 * BS);
    const put = async (at: number, data: Buffer) => { await store.write('v', at, data); data.copy(model, at); };
    await put(0, pattern(12 * BS, 5));
    await store.clone('v', 'snap');
    const snapshot = Buffer.from(model);
    await put(2 * BS, pattern(3 * BS, 6)); // blocks 2-4 now the volume's own, the rest shared
    await store.create('gone', 8 * BS);
    await store.write('gone', 0, pattern(4 * BS, 7));
    await store.delete('gone'); // four freed blocks, reused first by the next write
    await put(BS - 100, pattern(30 * BS + 300, 8)); // own, shared, then fresh blocks
    await put(40 * BS + 5, pattern(17 * BS, 9));
    assert.ok((await store.read('v', 0, 64 * BS)).equals(model));
    assert.ok((await store.read('snap', 0, 64 * BS)).equals(snapshot));
    for (let at = 0; at < 64 * BS; at += 7 * BS + 333) {
      const len = Math.min(5 * BS + 17, 64 * BS - at);
      assert.ok((await store.read('v', at, len)).equals(model.subarray(at, at + len)), `read at ${at}`);
    }
    assert.equal(store.mappedBytes('v'), (32 + 18) * BS);
    assert.equal(store.distinctBytes(['v', 'snap']), store.allocatedBytes());
    assert.equal(store.bytesOnlyIn(['snap'], ['v']), 12 * BS, 'the snapshot alone holds the blocks the volume overwrote');
    await store.close();
    const again = await ArrayStore.open(join(root, `s${n - 1}`));
    assert.ok((await again.read('v', 0, 64 * BS)).equals(model));
    assert.ok((await again.read('snap', 0, 64 * BS)).equals(snapshot));
    await again.close();
  });

  it('deleting the origin keeps every clone intact and frees only what nothing else holds', async () => {
    const { store } = await fresh();
    await store.create('o', 8 * BS);
    await store.write('o', 0, pattern(4 * BS, 4));
    const snaps: string[] = [];
    for (let i = 0; i < 5; i++) {
      await store.write('o', i * BS, pattern(BS, 10 + i));
      await store.clone('o', `s${i}`);
      snaps.push(`s${i}`);
    }
    const hashes = new Map<string, string>();
    for (const s of snaps) hashes.set(s, sha(await store.read(s, 0, 8 * BS)));
    await store.delete('s2');
    await store.delete('o');
    for (const s of snaps.filter((x) => x !== 's2')) assert.equal(sha(await store.read(s, 0, 8 * BS)), hashes.get(s));
    assert.equal(store.allocatedBytes(), store.distinctBytes(store.ids()));
    for (const s of store.ids()) await store.delete(s);
    assert.equal(store.allocatedBytes(), 0);
    await store.close();
  });

  it('unmap releases whole blocks and zeros partial ones; freed blocks are reused', async () => {
    const { dir, store } = await fresh();
    await store.create('a', 8 * BS);
    await store.write('a', 0, pattern(8 * BS, 5));
    const fileSize = (await stat(join(dir, 'blocks.dat'))).size;
    await store.unmap('a', BS / 2, 3 * BS);
    assert.ok((await store.read('a', BS / 2, 3 * BS)).every((b) => b === 0));
    assert.ok((await store.read('a', 0, BS / 2)).equals(pattern(8 * BS, 5).subarray(0, BS / 2)));
    assert.equal(store.allocatedBytes(), 6 * BS);
    await store.create('b', 2 * BS);
    await store.write('b', 0, pattern(2 * BS, 6));
    assert.equal((await stat(join(dir, 'blocks.dat'))).size, fileSize);
    assert.ok((await store.read('a', 0, BS / 2)).equals(pattern(8 * BS, 5).subarray(0, BS / 2)));
    await store.close();
  });

  it('a write the guard refuses changes nothing, and only new blocks are asked for', async () => {
    const { store } = await fresh();
    await store.create('a', 8 * BS);
    await store.write('a', 0, pattern(2 * BS, 7));
    await store.clone('a', 'snap');
    const asked: number[] = [];
    store.setAllocationGuard((_id, blocks) => {
      asked.push(blocks);
      if (blocks > 2) throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
    });
    await store.write('snap', 0, Buffer.alloc(0));
    await assert.rejects(store.write('a', BS, pattern(3 * BS, 8)), /no space left/);
    assert.ok((await store.read('a', 0, 2 * BS)).equals(pattern(2 * BS, 7)));
    assert.equal(store.allocatedBytes(), 2 * BS);
    await store.write('a', 0, pattern(BS, 9)); // one shared block to copy
    assert.deepEqual(asked, [3, 1]);
    await store.delete('snap');
    await store.write('a', 0, pattern(BS, 10)); // now exclusive: written in place
    assert.deepEqual(asked, [3, 1]);
    await store.close();
  });

  it('survives a reopen with the same content, sharing and figures', async () => {
    const { dir, store } = await fresh();
    await store.create('a', 1024 * 1024 * 1024 * 1024); // 1 TiB, sparse
    await store.write('a', 5 * BS, pattern(3 * BS, 11));
    await store.clone('a', 'c');
    await store.write('c', 5 * BS, Buffer.from('x'));
    await store.close();
    const again = await ArrayStore.open(dir);
    assert.equal(again.blockSize, BS);
    assert.equal(again.size('a'), 1024 ** 4);
    assert.ok((await again.read('a', 5 * BS, 3 * BS)).equals(pattern(3 * BS, 11)));
    assert.equal((await again.read('c', 5 * BS, 1)).toString(), 'x');
    assert.equal(again.allocatedBytes(), 4 * BS);
    await again.write('a', 6 * BS, Buffer.from('y')); // shared with c: copied, not overwritten in place
    assert.ok((await again.read('c', 6 * BS, 1)).equals(pattern(3 * BS, 11).subarray(BS, BS + 1)));
    await again.close();
  });

  it('resize keeps content, and a shrink then grow reads zeros past the old end', async () => {
    const { store } = await fresh();
    await store.create('a', 4 * BS);
    await store.write('a', 0, pattern(4 * BS, 12));
    await store.resize('a', BS + 100);
    assert.equal(store.allocatedBytes(), 2 * BS);
    await store.resize('a', 4 * BS);
    assert.ok((await store.read('a', 0, BS + 100)).equals(pattern(4 * BS, 12).subarray(0, BS + 100)));
    assert.ok((await store.read('a', BS + 100, 3 * BS - 100)).every((b) => b === 0));
    await store.close();
  });

  it('a view serves a LUN to the target: size, serial, I/O through the store', async () => {
    const { store } = await fresh();
    await store.create('lun', 2 * BS);
    const view = store.view('lun', { serial: '80DTQ]KjZDN5', thin: true });
    assert.equal(view.size, 2 * BS);
    assert.equal(view.blockSize, 512);
    await view.write(512, pattern(1024, 13));
    await view.flush();
    assert.ok((await store.read('lun', 512, 1024)).equals(pattern(1024, 13)));
    await view.unmap(0, 2 * BS);
    assert.equal(store.allocatedBytes(), 0);
    await store.resize('lun', 3 * BS);
    assert.equal(view.size, 3 * BS);
    await store.close();
  });
});
