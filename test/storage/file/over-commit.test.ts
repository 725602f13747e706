/**
 * Thin over-commit on a really small file system (a 64 MiB tmpfs mounted for the test, as
 * root, which CI and the project machine are): thin disks may promise more than there is;
 * the write that finds no space fails with ENOSPC and loses nothing written before it; a
 * snapshot or thick disk that does not fit is SR_FULL and leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { toWireError } from '../../../src/core/wire-errors.js';
import { StorageError } from '../../../src/core/ports/storage-errors.js';
import { checkTree, pattern, vdiHash } from '../sr-driver.contract.js';
import { GiB, MiB, newSr } from './file-sr-helpers.js';

const exec = promisify(execFile);
const isRoot = process.getuid?.() === 0;

function srFull(e: unknown): true {
  assert.ok(e instanceof StorageError, String(e));
  assert.equal(toWireError(e).code, 'SR_FULL');
  return true;
}

test('thin over-commit on a 64 MiB file system: ENOSPC loses nothing, SR_FULL leaves nothing', { skip: !isRoot && 'needs root to mount a tmpfs' }, async () => {
  const mnt = await mkdtemp(join(tmpdir(), 'islet-tmpfs-'));
  await exec('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mnt]);
  try {
    const t = await newSr(join(mnt, 'sr'));
    try {
      const disks: string[] = [];
      for (let i = 0; i < 4; i++) {
        const uuid = randomUUID();
        await t.sr.vdiCreate({ uuid, virtualSize: GiB, allocation: 'thin' });
        disks.push(uuid);
      }
      const st = await t.sr.stat();
      assert.ok(st.virtualAllocation > 10 * st.physicalSize, 'over-committed');
      const before = (await readdir(t.path)).sort();
      await assert.rejects(t.sr.vdiCreate({ uuid: randomUUID(), virtualSize: 128 * MiB, allocation: 'thick' }), srFull);
      assert.deepEqual((await readdir(t.path)).sort(), before, 'a refused thick disk leaves nothing');

      // Fill the file system through one disk, a chunk at a time, each made durable.
      const dev = await t.sr.activate(disks[0]!, { readOnly: false });
      let chunks = 0;
      let failure: unknown;
      for (; chunks < 64; chunks++) {
        try {
          await dev.write(chunks * 2 * MiB, pattern(2 * MiB, chunks));
          await dev.flush();
        } catch (e) {
          failure = e;
          break;
        }
      }
      assert.ok(failure, 'the file system ran out');
      assert.equal((failure as { code?: string }).code, 'ENOSPC');
      assert.ok(chunks >= 20, `wrote ${chunks} chunks first`);
      for (let i = 0; i < chunks; i++) assert.ok((await dev.read(i * 2 * MiB, 2 * MiB)).equals(pattern(2 * MiB, i)), `chunk ${i} intact`);
      await dev.close();

      // Down to the last page: a snapshot is SR_FULL and leaves the tree as it was.
      const h0 = await vdiHash(t.sr, disks[0]!);
      const nodesBefore = (await t.sr.scan()).map((n) => n.uuid).sort();
      const filler = await t.sr.activate(disks[1]!, { readOnly: false });
      for (let at = 0; at < 64 * MiB; at += 4096) {
        try {
          await filler.write(at, pattern(4096, at));
        } catch {
          break;
        }
      }
      await filler.close();
      await assert.rejects(t.sr.vdiSnapshot(disks[0]!, randomUUID()), srFull);
      assert.deepEqual((await t.sr.scan()).map((n) => n.uuid).sort(), nodesBefore, 'a failed snapshot leaves the tree as it was');
      assert.ok(!(await readdir(t.path)).some((n) => n.endsWith('.tmp')));
      assert.deepEqual(await readdir(join(t.path, '.journal')), []);
      assert.equal(await vdiHash(t.sr, disks[0]!), h0);
      checkTree(await t.sr.scan());

      // Re-attach: everything written is still there; deleting works on a full SR and,
      // with GC, gives the space back.
      await t.reattach();
      assert.equal(await vdiHash(t.sr, disks[0]!), h0);
      await t.sr.vdiDestroy(disks[0]!);
      await t.sr.gc();
      const again = await t.sr.activate(disks[2]!, { readOnly: false });
      await again.write(0, pattern(16 * MiB, 7));
      await again.close();
      assert.deepEqual(await readdir(join(t.path, '.journal')), []);
    } finally {
      await t.close();
    }
  } finally {
    await exec('umount', [mnt]);
    await rmdir(mnt);
  }
});
