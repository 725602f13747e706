/**
 * The constant-cost reads snapshot decisions rest on: a VHD that is only its metadata is
 * known to hold no data, anything else may; a footer rewrite is seen by a full open.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { mayHaveData, readFacts, rewriteFooter } from '../../../src/storage/file/vhd-facts.js';
import { createDifferencing, createDynamic, createFixed, VhdFile } from '../../../src/storage/vhd/index.js';
import { GiB, MiB, tempBase } from './file-sr-helpers.js';

test('mayHaveData: false only for a file that is its metadata alone', async () => {
  const dir = await mkdtemp(join(await tempBase(), 'islet-facts-'));
  try {
    const root = join(dir, 'root.vhd');
    await createDynamic(root, 100 * GiB);
    assert.equal(mayHaveData(await readFacts(root)), false, 'empty dynamic');
    const child = join(dir, 'child.vhd');
    await createDifferencing(child, root);
    assert.equal(mayHaveData(await readFacts(child)), false, 'empty differencing');

    const f = await VhdFile.open(child);
    await f.write(5 * GiB, Buffer.alloc(4096, 1));
    await f.close();
    assert.equal(mayHaveData(await readFacts(child)), true, 'after a write');

    // Re-pointing appends locators when they do not fit; still no data.
    const other = join(dir, 'a-much-longer-parent-name-than-before-to-force-new-locators.vhd');
    await createDynamic(other, 100 * GiB);
    const c2 = join(dir, 'c2.vhd');
    await createDifferencing(c2, root);
    const g = await VhdFile.open(c2);
    await g.setParent(other);
    await g.close();
    assert.equal(mayHaveData(await readFacts(c2)), false, 'after setParent');

    // A grown disk whose BAT moved is conservatively "maybe".
    const small = join(dir, 'small.vhd');
    await createDynamic(small, 4 * MiB);
    const h = await VhdFile.open(small);
    await h.resize(64 * GiB);
    await h.close();
    assert.equal(mayHaveData(await readFacts(small)), true, 'the old BAT left a gap');

    const fixed = join(dir, 'fixed.vhd');
    await createFixed(fixed, MiB);
    assert.equal(mayHaveData(await readFacts(fixed)), true, 'fixed disks are all data');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('rewriteFooter changes uuid and hidden flag as a full open sees them, for dynamic and fixed', async () => {
  const dir = await mkdtemp(join(await tempBase(), 'islet-facts-'));
  try {
    for (const make of [(p: string) => createDynamic(p, 8 * MiB), (p: string) => createFixed(p, MiB)]) {
      const path = join(dir, `${randomUUID()}.vhd`);
      await make(path);
      const uuid = randomUUID();
      await rewriteFooter(path, { uuid, hidden: true });
      const f = await VhdFile.open(path, { readOnly: true });
      assert.equal(f.uuid, uuid);
      assert.equal(f.hidden, true);
      await f.close();
      await rewriteFooter(path, { uuid, hidden: false });
      const facts = await readFacts(path);
      assert.equal(facts.footer.hidden, 0);
      assert.equal(facts.footer.uuid, uuid);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
