/**
 * The host's storage registry: drivers by type, plug/unplug idempotent and safe when two
 * callers plug the same SR at once, unknown types refused with SR_UNKNOWN_DRIVER.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { toWireError } from '../../src/core/wire-errors.js';
import { StorageError } from '../../src/core/ports/storage-errors.js';
import { createStorageHost } from '../../src/storage/storage-host.js';

test('plug attaches once, attached() finds it, unplug detaches; unknown types are refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'islet-host-'));
  try {
    const host = createStorageHost();
    assert.deepEqual(host.types(), ['file', 'iso']);
    assert.equal(host.driver('file')?.type, 'file');
    assert.equal(host.driver('nfs'), undefined);
    const srUuid = randomUUID();
    const dc = { path: join(dir, 'sr') };
    await host.driver('file')!.create(srUuid, dc, {});
    assert.equal(host.attached(srUuid), undefined);
    const [a, b] = await Promise.all([host.plug(srUuid, 'file', dc), host.plug(srUuid, 'file', dc)]);
    assert.equal(a, b, 'concurrent plugs share one attachment');
    assert.equal(await host.plug(srUuid, 'file', dc), a);
    assert.equal(host.attached(srUuid), a);
    await a.vdiCreate({ uuid: randomUUID(), virtualSize: 1 << 20, allocation: 'thin' });
    await host.unplug(srUuid);
    await host.unplug(srUuid);
    assert.equal(host.attached(srUuid), undefined);
    await assert.rejects(a.scan(), (e) => e instanceof StorageError && toWireError(e).code === 'SR_NOT_ATTACHED');
    const again = await host.plug(srUuid, 'file', dc);
    assert.equal((await again.scan()).length, 1);
    await assert.rejects(host.plug(randomUUID(), 'netapp-9000', {}), (e) => e instanceof StorageError && toWireError(e).code === 'SR_UNKNOWN_DRIVER');
    await assert.rejects(host.plug(randomUUID(), 'file', dc), (e) => e instanceof StorageError && toWireError(e).code === 'SR_BACKEND_FAILURE_47');
    await host.unplugAll();
    assert.equal(host.attached(srUuid), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
