/**
 * The SR lock across processes: a lock left by a dead process of this host is taken over at
 * once, one held by a live process is waited for (and refused after the timeout with
 * SR_BACKEND_FAILURE_37), one not refreshed for `staleMs` is taken over.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lutimes, mkdtemp, readlink, rm, symlink } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { toWireError } from '../../../src/core/wire-errors.js';
import { StorageError } from '../../../src/core/ports/storage-errors.js';
import { SrLock } from '../../../src/storage/file/sr-lock.js';

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

test('the SR lock: dead holders are taken over, live ones waited for, silent ones expire', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'islet-lock-'));
  const path = join(dir, '.lock');
  try {
    // Dead process of this host: taken over at once, which a lock allowed no wait at all shows.
    await symlink(`${await deadPid()}@${hostname()}#abc123`, path);
    const lock = new SrLock(path, { timeoutMs: 0, staleMs: 60_000 });
    assert.equal(await lock.run(async () => readlink(path).then((t) => t.startsWith(`${process.pid}@`))), true);
    await assert.rejects(readlink(path), { code: 'ENOENT' }, 'released');

    // A live holder (this very process, another instance): waited for, then refused.
    await symlink(`${process.pid}@${hostname()}#def456`, path);
    const short = new SrLock(path, { timeoutMs: 300, staleMs: 60_000 });
    await assert.rejects(short.run(async () => 1), (e) => e instanceof StorageError && toWireError(e).code === 'SR_BACKEND_FAILURE_37');
    // ... and a holder that lets go is followed.
    const waiting = new SrLock(path, { timeoutMs: 5000, staleMs: 60_000 }).run(async () => 'got it');
    setTimeout(() => void rm(path), 100);
    assert.equal(await waiting, 'got it');

    // Another host's lock not refreshed for staleMs: expired.
    await symlink(`1@some-other-host#0a0b0c`, path);
    const old = new Date(Date.now() - 10_000);
    await lutimes(path, old, old);
    assert.equal(await new SrLock(path, { timeoutMs: 2000, staleMs: 5000 }).run(async () => 42), 42);

    // In one process, callers of one lock are served one at a time, in order.
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => lock.run(async () => {
      order.push(n);
      await new Promise((r) => setTimeout(r, 10));
      order.push(n);
    })));
    assert.deepEqual(order, [1, 1, 2, 2, 3, 3]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
