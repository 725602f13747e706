/**
 * @module
 * Failures on the way to the array leave it as it was: bad SSH credentials, a CLI error in
 * the middle of a clone or snapshot, a pool too full for a clone, an SSH session dropped in
 * the middle of a command whose outcome is then unknown. Each gives a clear XenAPI error
 * (never INTERNAL_ERROR), and the simulator's own volume and snapshot list proves nothing
 * half made is left behind; the SR keeps working afterwards.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { toWireError } from '../../../src/core/wire-errors.js';
import { StorageError } from '../../../src/core/ports/storage-errors.js';
import type { AttachedSr } from '../../../src/core/ports/sr-driver.js';
import { pattern, vdiHash, writeVdi } from '../sr-driver.contract.js';
import { startEqlFixture, type EqlFixture } from './eql-fixture.js';

const MiB = 1024 * 1024;

function arrayContents(f: EqlFixture): string[] {
  return f.sim.group.state.volumes.flatMap((v) => [v.name, ...v.snapshots.map((s) => `${v.name}@${s.name}`)]).sort();
}

function isStorageFailure(status: RegExp | string) {
  return (e: unknown) => {
    assert.ok(e instanceof StorageError, `a StorageError, got ${String(e)}`);
    const api = toWireError(e);
    assert.notEqual(api.code, 'INTERNAL_ERROR');
    assert.match(api.params.join(' ') + api.code, typeof status === 'string' ? new RegExp(status) : status);
    return true;
  };
}

describe('EqualLogic failures leave nothing half made', { timeout: 300_000 }, () => {
  let f: EqlFixture;
  let sr: AttachedSr;
  let disk: string;
  let snap: string;
  before(async () => {
    f = await startEqlFixture({ poolSize: 2 * 1024 * MiB });
    const srUuid = randomUUID();
    await f.driver.create(srUuid, f.deviceConfig, {});
    sr = await f.driver.attach(srUuid, f.deviceConfig);
    disk = randomUUID();
    await sr.vdiCreate({ uuid: disk, virtualSize: 64 * MiB, allocation: 'thin' });
    await writeVdi(sr, disk, 0, pattern(4 * MiB, 1));
    snap = randomUUID();
    await sr.vdiSnapshot(disk, snap);
  });
  after(async () => {
    await sr?.detach();
    await f?.cleanup();
  });

  it('bad SSH credentials: ARRAY_AUTH with the reason, nothing made', async () => {
    const before = arrayContents(f);
    await assert.rejects(f.driver.create(randomUUID(), { ...f.deviceConfig, password: 'wrong' }, {}), isStorageFailure(/ARRAY_AUTH.*refused the login of grpadmin/));
    await assert.rejects(f.driver.attach(sr.srUuid, { ...f.deviceConfig, password: 'wrong' }), isStorageFailure('ARRAY_AUTH'));
    assert.deepEqual(arrayContents(f), before);
  });

  it('a CLI error in the middle of a clone (snapshot of a snapshot: clone, then snapshot) removes the clone it made', async () => {
    const before = arrayContents(f);
    f.sim.ssh.failOn.push({ match: /snapshot create-now/, text: 'Snapshot creation failed: the member is busy.' });
    try {
      await assert.rejects(sr.vdiSnapshot(snap, randomUUID()), isStorageFailure(/ARRAY_CLI.*member is busy/));
    } finally {
      f.sim.ssh.failOn.length = 0;
    }
    assert.ok(f.sim.ssh.received.some((c) => / clone islet-/.test(c)), 'the clone step ran before the failure');
    assert.deepEqual(arrayContents(f), before);
  });

  it('a clone refused for space mid-way: SR_FULL, nothing made', async () => {
    const big = randomUUID();
    await sr.vdiCreate({ uuid: big, virtualSize: 900 * MiB, allocation: 'thick' });
    const before = arrayContents(f);
    await assert.rejects(sr.vdiClone(big, randomUUID()), isStorageFailure('SR_FULL'));
    assert.deepEqual(arrayContents(f), before);
    await sr.vdiDestroy(big);
  });

  it('an SSH session dropped during the clone command: the clone the array made is removed', async () => {
    const before = arrayContents(f);
    f.sim.ssh.dropOn.push(/ clone islet-/);
    try {
      await assert.rejects(sr.vdiClone(disk, randomUUID()), isStorageFailure(/ARRAY_SESSION_LOST.*outcome on the array is unknown/));
    } finally {
      f.sim.ssh.dropOn.length = 0;
    }
    assert.deepEqual(arrayContents(f), before);
  });

  it('an SSH session dropped during snapshot create-now: the unnamed snapshot is removed', async () => {
    const before = arrayContents(f);
    f.sim.ssh.dropOn.push(/snapshot create-now/);
    try {
      await assert.rejects(sr.vdiSnapshot(disk, randomUUID()), isStorageFailure('ARRAY_SESSION_LOST'));
    } finally {
      f.sim.ssh.dropOn.length = 0;
    }
    assert.deepEqual(arrayContents(f), before);
  });

  it('an SSH session dropped during volume create: the volume is removed', async () => {
    const before = arrayContents(f);
    f.sim.ssh.dropOn.push(/^volume create/);
    try {
      await assert.rejects(sr.vdiCreate({ uuid: randomUUID(), virtualSize: 8 * MiB, allocation: 'thin' }), isStorageFailure('ARRAY_SESSION_LOST'));
    } finally {
      f.sim.ssh.dropOn.length = 0;
    }
    assert.deepEqual(arrayContents(f), before);
  });

  it('after all that, the SR still works and the disk and snapshot are intact', async () => {
    const h = await vdiHash(sr, snap);
    const c = randomUUID();
    await sr.vdiClone(snap, c);
    assert.equal(await vdiHash(sr, c), h);
    await sr.vdiDestroy(c);
  });
});
