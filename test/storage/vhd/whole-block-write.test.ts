/**
 * New blocks written whole take the short path (bitmap and data in one write, the blocks
 * of one turn sharing one footer move and one BAT write): several whole blocks in one
 * write, whole and partial new blocks in the same turn, a whole block then rewritten in
 * part, and a zero block left unallocated. The file is read back by qemu-img and libvhdi
 * as oracles and by us after reopening; the file ends with its footer right after the
 * last block.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDynamic, open, VhdChain } from '../../../src/storage/vhd/index.js';
import { pyvhdiDump, run, withTempDir } from './vhd-helpers.js';

const MiB = 1024 * 1024;

test('whole new blocks, several per write and beside partial ones, read back by qemu-img, libvhdi and us', async () => {
  await withTempDir(async (dir) => {
    const size = 32 * MiB;
    const vhd = join(dir, 'whole.vhd');
    await createDynamic(vhd, size);
    const expected = Buffer.alloc(size);
    const f = await open(vhd);
    const four = randomBytes(8 * MiB);
    const partial = randomBytes(64 * 1024);
    const whole = randomBytes(2 * MiB);
    // One turn: four whole blocks in one write, a partial new block, another whole block,
    // and a whole block of zeroes (which allocates nothing).
    await Promise.all([
      f.write(0, four),
      f.write(8 * MiB + 4096, partial),
      f.write(12 * MiB, whole),
      f.write(16 * MiB, Buffer.alloc(2 * MiB)),
    ]);
    four.copy(expected, 0);
    partial.copy(expected, 8 * MiB + 4096);
    whole.copy(expected, 12 * MiB);
    // A block made whole, then rewritten in part.
    const patch = randomBytes(3 * 512);
    await f.write(12 * MiB + 512, patch);
    patch.copy(expected, 12 * MiB + 512);
    assert.deepEqual(f.allocatedBlocks(), [0, 1, 2, 3, 4, 6]);
    await f.close();

    const reopened = await open(vhd, { readOnly: true });
    const st = await stat(vhd);
    assert.equal(st.size % 512, 0);
    // Six blocks of 512 B bitmap + 2 MiB data follow the metadata: no more space than that.
    assert.ok(st.size < 6 * (2 * MiB + 4096) + 64 * 1024, `file of ${st.size} bytes`);
    await reopened.close();

    await writeFile(join(dir, 'expected.raw'), expected);
    const cmp = await run('qemu-img', ['compare', '-f', 'vpc', '-F', 'raw', vhd, join(dir, 'expected.raw')]);
    assert.equal(cmp.code, 0, `${cmp.stdout}${cmp.stderr}`);
    assert.match(cmp.stdout, /Images are identical/);
    const out = join(dir, 'pyvhdi.raw');
    assert.equal(await pyvhdiDump([vhd], out), size);
    assert.ok((await readFile(out)).equals(expected), 'libvhdi reads what was written');
    const chain = await VhdChain.open(vhd, { readOnly: true });
    assert.ok((await chain.readAll()).equals(expected), 'we read what was written');
    await chain.close();
  });
});
