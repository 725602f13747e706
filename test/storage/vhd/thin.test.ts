/**
 * Thin provisioning measured on the host file system (st_blocks): metadata only for empty
 * disks and snapshots, and a small write costs about its own size, never a whole 2 MiB block.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDifferencing, createDynamic, open, VhdChain } from '../../../src/storage/vhd/index.js';
import { patternBuffer, withTempDir } from './vhd-helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

async function physical(path: string): Promise<number> {
  return (await stat(path)).blocks * 512;
}

test('4 KiB into a fresh 100 GiB dynamic VHD costs header + BAT + one bitmap + 4 KiB', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'big.vhd');
    await createDynamic(path, 100 * GiB);
    const empty = await physical(path);
    // 51200 BAT entries = 200 KiB, plus footers and header.
    assert.ok(empty <= 220 * KiB, `empty: ${empty}`);
    const f = await open(path);
    await f.write(37 * GiB + 8 * KiB, patternBuffer(4 * KiB, 1));
    await f.close();
    const after = await physical(path);
    assert.ok(after < 3 * MiB, `after: ${after}`);
    assert.ok(after - empty <= 16 * KiB, `grew by ${after - empty}`);
    const c = await VhdChain.open(path, { readOnly: true });
    assert.ok((await c.read(37 * GiB + 8 * KiB, 4 * KiB)).equals(patternBuffer(4 * KiB, 1)));
    await c.close();
  });
});

test('a snapshot child of a full 1 GiB parent is metadata only; 4 KiB into it costs ~4 KiB', async () => {
  await withTempDir(async (dir) => {
    const parent = join(dir, 'parent.vhd');
    await createDynamic(parent, GiB);
    const p = await open(parent);
    const chunk = patternBuffer(16 * MiB, 2);
    for (let at = 0; at < GiB; at += chunk.length) await p.write(at, chunk);
    await p.close();
    assert.ok((await physical(parent)) >= GiB);

    const child = join(dir, 'child.vhd');
    await createDifferencing(child, parent);
    const empty = await physical(child);
    assert.ok(empty <= 16 * KiB, `empty child: ${empty}`);

    const c = await VhdChain.open(child);
    await c.write(300 * MiB + 4 * KiB, Buffer.alloc(4 * KiB, 0x77));
    await c.flush();
    const after = await physical(child);
    assert.ok(after - empty <= 12 * KiB, `child grew by ${after - empty}`);
    // The rest of the touched block still comes from the parent.
    const back = await c.read(300 * MiB, 12 * KiB);
    assert.ok(back.subarray(0, 4 * KiB).equals(chunk.subarray(300 * MiB % chunk.length, 300 * MiB % chunk.length + 4 * KiB)));
    assert.ok(back.subarray(4 * KiB, 8 * KiB).every((x) => x === 0x77));
    await c.close();

    // A snapshot of the snapshot, and a clone beside it, also stay metadata-only.
    await createDifferencing(join(dir, 'grandchild.vhd'), child);
    await createDifferencing(join(dir, 'clone.vhd'), parent);
    assert.ok((await physical(join(dir, 'grandchild.vhd'))) <= 16 * KiB);
    assert.ok((await physical(join(dir, 'clone.vhd'))) <= 16 * KiB);
  }, { inMemory: true });
});
