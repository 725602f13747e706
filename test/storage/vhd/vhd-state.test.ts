/**
 * The low-level I/O helpers every VHD module shares: `readFully` (one positioned read in
 * the usual case, the rest of a short read fetched or zero-filled past the end of the file)
 * and `settleAll` (callers recycle buffers as soon as it rejects, so it must not settle
 * while some operation still runs).
 */
import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { readAt, readFully, settleAll } from '../../../src/storage/vhd/vhd-state.js';
import { patternBuffer, withTempDir } from './vhd-helpers.js';

test('readFully reads the bytes asked for, and zeros for what lies past the end of the file', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'f');
    const data = patternBuffer(10_000, 7);
    await writeFile(path, data);
    const fh = await open(path, 'r');
    try {
      assert.deepEqual(await readAt(fh, 1234, 4096), data.subarray(1234, 1234 + 4096));
      // Straddling the end: the read comes back short, the rest must be zeros, not old bytes.
      const out = Buffer.alloc(8192, 0xaa);
      await readFully(fh, out, 100, 4000, 8000);
      assert.deepEqual(out.subarray(100, 2100), data.subarray(8000));
      assert.ok(out.subarray(2100, 4100).every((b) => b === 0), 'past the end reads as zeros');
      assert.ok(out.subarray(0, 100).every((b) => b === 0xaa) && out.subarray(4100).every((b) => b === 0xaa), 'nothing outside the range is touched');
      // Wholly past the end, and nothing at all.
      assert.ok((await readAt(fh, 20_000, 512)).every((b) => b === 0));
      assert.equal((await readAt(fh, 0, 0)).length, 0);
    } finally {
      await fh.close();
    }
  });
});

test('readFully fails with the error of the read', async () => {
  await withTempDir(async (dir) => {
    const fh = await open(dir, 'r');
    try {
      await assert.rejects(readFully(fh, Buffer.alloc(512), 0, 512, 0), (e: NodeJS.ErrnoException) => e.code === 'EISDIR');
    } finally {
      await fh.close();
    }
  });
});

test('settleAll settles only once every operation has, and then with the first failure', async () => {
  assert.equal(await settleAll([]), undefined);
  let releaseSlow!: () => void;
  const slow = new Promise<void>((r) => (releaseSlow = r));
  const boom = new Error('first');
  let settled = false;
  const all = settleAll([Promise.reject(boom), slow, Promise.reject(new Error('second'))]).finally(() => (settled = true));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'a read still running keeps it pending, though two have failed');
  releaseSlow();
  await assert.rejects(all, (e) => e === boom);
  assert.equal(await settleAll([Promise.resolve(1), Promise.resolve(2)]), undefined);
});
