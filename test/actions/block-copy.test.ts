/**
 * Thin writes through the block device port, on real VHD files: `writeChanges` writes only
 * the pages that differ (zeroes onto a blank disk and data a snapshot already shares cost
 * nothing), and `copyBlocks` reads only the source's data ranges and leaves the target
 * identical, zeroing what must read as zeroes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { copyBlocks, writeChanges } from '../../src/actions/vdi/block-copy.js';
import { createDifferencing, createDynamic } from '../../src/storage/vhd/index.js';
import { VhdBlockDevice } from '../../src/storage/vhd/vhd-block-device.js';
import { withTempDir } from '../storage/vhd/vhd-helpers.js';

const MiB = 1024 * 1024;

function filled(n: number, byte: number): Buffer {
  return Buffer.alloc(n, byte);
}

describe('block copy', () => {
  it('writeChanges writes only differing pages', async () => {
    await withTempDir(async (dir) => {
      const base = join(dir, 'base.vhd');
      await createDynamic(base, 16 * MiB);
      const b = await VhdBlockDevice.open(base);
      assert.equal(await writeChanges(b, 0, Buffer.alloc(2 * MiB)), 0, 'zeroes on a blank disk');
      const data = Buffer.concat([filled(MiB, 7), Buffer.alloc(MiB)]);
      assert.equal(await writeChanges(b, 0, data), MiB, 'only the non-zero half');
      await b.close();
      const leaf = join(dir, 'leaf.vhd');
      await createDifferencing(leaf, base);
      const l = await VhdBlockDevice.open(leaf);
      assert.equal(await writeChanges(l, 0, data), 0, 'content the parent already has');
      const changed = Buffer.from(data);
      changed.fill(9, 8192, 12288);
      assert.equal(await writeChanges(l, 0, changed), 4096, 'one changed page');
      const erased = Buffer.from(changed);
      erased.fill(0, 0, 4096);
      assert.equal(await writeChanges(l, 0, erased), 4096, 'one erased page');
      assert.ok((await l.read(0, 2 * MiB)).equals(erased));
      await l.close();
    });
  });

  it('copyBlocks makes the target equal the source', async () => {
    await withTempDir(async (dir) => {
      const a = join(dir, 'a.vhd');
      const t = join(dir, 't.vhd');
      await createDynamic(a, 64 * MiB);
      await createDynamic(t, 64 * MiB);
      const src = await VhdBlockDevice.open(a);
      const dst = await VhdBlockDevice.open(t);
      await src.write(5 * MiB, filled(MiB + 512, 3));
      await dst.write(40 * MiB, filled(MiB, 4));
      const stats = await copyBlocks(src, dst);
      assert.ok(stats.bytesRead <= 2 * MiB, `read ${stats.bytesRead}`);
      assert.equal(stats.bytesWritten, MiB + 512);
      assert.ok((await dst.read(0, 64 * MiB)).equals(await src.read(0, 64 * MiB)));
      await src.close();
      await dst.close();
    });
  });
});
