/**
 * Hotfix item 2: creating a thin VDI or a snapshot reserves nothing beyond what the model
 * says. A 100 GiB thin disk made with `xe vdi-create` and snapshotted ten times with
 * `xe vdi-snapshot` uses less than 4 MiB in all, before any write, by the records, by the
 * SR's figure and by the files on disk; the SR's virtual allocation counts the visible
 * disks exactly. Needs a built tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GiB, MiB, type StorageFixture, startStorageFixture, summedPhysical, vdiRecords } from './storage-fixture.js';

describe('no overhead (hotfix item 2)', () => {
  let f: StorageFixture;
  let srUuid: string;
  let vdiUuid: string;

  before(async () => {
    f = await startStorageFixture();
    srUuid = String(await f.api.call('SR.get_uuid', f.sr));
    vdiUuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=big', 'virtual-size=100GiB', 'sm-config:allocation=thin');
    for (let i = 0; i < 10; i++) assert.match(await f.xeOk('vdi-snapshot', `uuid=${vdiUuid}`), /^[0-9a-f-]{36}$/);
  });
  after(async () => f?.close());

  it('the disk and its ten snapshots use less than 4 MiB by their records', async () => {
    const recs = await vdiRecords(f.api, f.sr);
    assert.equal(recs.filter((r) => r.is_a_snapshot).length, 10);
    const used = await summedPhysical(f.api, f.sr);
    assert.ok(used < 4 * MiB, `records say ${used} bytes`);
  });

  it('the SR reports less than 4 MiB used, and the visible disks as its virtual allocation', async () => {
    const sr = await f.api.call('SR.get_record', f.sr) as Record<string, any>;
    assert.ok(sr.physical_utilisation < 4 * MiB, `the SR says ${sr.physical_utilisation} bytes`);
    assert.equal(sr.virtual_allocation, 11 * 100 * GiB);
  });

  it('the files on disk take less than 4 MiB', async () => {
    const pbd = (await f.api.call('SR.get_PBDs', f.sr) as string[])[0]!;
    const dir = (await f.api.call('PBD.get_device_config', pbd) as Record<string, string>).path!;
    let blocks = 0;
    for (const n of await readdir(dir)) blocks += (await stat(join(dir, n))).blocks;
    assert.ok(blocks * 512 < 4 * MiB, `the SR directory holds ${blocks * 512} bytes`);
  });

  it('xe vdi-list shows the thin disk with its full virtual size', async () => {
    const out = await f.xeOk('vdi-list', `uuid=${vdiUuid}`, 'params=virtual-size,sm-config');
    assert.match(out, new RegExp(`virtual-size \\( RO\\)\\s*: ${100 * GiB}\\b`));
    assert.match(out, /allocation: thin/);
  });
});
