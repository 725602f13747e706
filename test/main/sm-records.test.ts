/**
 * The pool's SM records: one per SR type the drivers serve, with what each driver says it
 * can do, kept up to date with the drivers (a changed description updates the record in
 * place, a type no driver serves any more loses its record, a duplicate goes), and served
 * to clients: `SM.get_all_records` and `xe sm-list` on a real host list the four drivers
 * Islet ships, with the same uuids after a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import type { SmDescription, SrDriver } from '../../src/core/ports/sr-driver.js';
import type { StorageHost } from '../../src/core/ports/storage-host.js';
import { newRef, newUuid } from '../../src/core/ref.js';
import { classes } from '../../src/datamodel/index.js';
import { openPoolDb } from '../../src/db/sqlite-pool-db.js';
import { ensureSmRecords } from '../../src/main/sm-records.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { runXe } from '../helpers/xe.js';

type Rec = Record<string, any>;

const describe1 = (over: Partial<SmDescription> = {}): SmDescription => ({
  nameLabel: 'Test driver', nameDescription: 'A driver for the test', vendor: 'Islet', copyright: 'c', version: '1.0',
  configuration: { location: 'where' }, features: { VDI_CREATE: 1, VDI_SNAPSHOT: 1 }, ...over,
});

/** A storage host offering only driver descriptions (ensureSmRecords reads nothing else). */
function hostWith(drivers: Record<string, SmDescription>): StorageHost {
  const driver = (type: string) => (drivers[type] ? ({ type, sm: drivers[type] } as unknown as SrDriver) : undefined);
  return { driver, types: () => Object.keys(drivers), attached: () => undefined, plug: () => Promise.reject(new Error('no')), unplug: async () => {} };
}

describe('ensureSmRecords', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'islet-sm-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('makes one record per type, changes nothing when run again, and updates a changed one in place', () => {
    const db = openPoolDb(join(dir, 'a.db'), classes);
    try {
      ensureSmRecords(db, hostWith({ file: describe1(), iso: describe1({ nameLabel: 'ISO', features: { SR_SCAN: 1 } }) }));
      const rows = db.all('SM').map(([, r]) => r as Rec);
      assert.deepEqual(rows.map((r) => r.type).sort(), ['file', 'iso']);
      const file = rows.find((r) => r.type === 'file')!;
      assert.deepEqual(file.capabilities, ['VDI_CREATE', 'VDI_SNAPSHOT']);
      assert.deepEqual(file.features, { VDI_CREATE: 1, VDI_SNAPSHOT: 1 });
      assert.deepEqual(file.configuration, { location: 'where' });
      assert.equal(file.required_api_version, '1.0');

      const gen = db.generation;
      ensureSmRecords(db, hostWith({ file: describe1(), iso: describe1({ nameLabel: 'ISO', features: { SR_SCAN: 1 } }) }));
      assert.equal(db.generation, gen, 'nothing written when the records already match');

      ensureSmRecords(db, hostWith({ file: describe1({ version: '2.0', features: { VDI_CREATE: 1, VDI_RESIZE: 1 } }) }));
      const after = db.all('SM').map(([, r]) => r as Rec);
      assert.deepEqual(after.map((r) => r.type), ['file'], 'the iso record is gone with its driver');
      assert.equal(after[0]!.uuid, file.uuid, 'updated in place');
      assert.equal(after[0]!.version, '2.0');
      assert.deepEqual(after[0]!.capabilities, ['VDI_CREATE', 'VDI_RESIZE']);
    } finally {
      db.close();
    }
  });

  it('keeps one record of a type that has two', () => {
    const db = openPoolDb(join(dir, 'b.db'), classes);
    try {
      for (let i = 0; i < 2; i++) db.create('SM', newRef<'SM'>(), { uuid: newUuid(), type: 'file', name_label: `old ${i}` });
      ensureSmRecords(db, hostWith({ file: describe1() }));
      const rows = db.all('SM').map(([, r]) => r as Rec);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.name_label, 'Test driver');
    } finally {
      db.close();
    }
  });
});

describe('SM records on a host', { timeout: 120_000 }, () => {
  let islet: IsletProcess;
  let c: XapiClient;
  before(async () => {
    islet = await startIslet({ args: ['--spawn-hypervisor', 'false'] });
  });
  after(async () => {
    c?.close();
    await islet?.stop();
  });

  it('lists the drivers Islet ships with their features, and keeps their uuids across a restart', async () => {
    c = new XapiClient({ url: islet.url });
    await c.login('root', islet.rootPassword);
    const records = Object.values((await c.call('SM.get_all_records')) as Record<string, Rec>);
    const byType = new Map(records.map((r) => [r.type as string, r]));
    assert.deepEqual([...byType.keys()].sort(), ['equallogic', 'file', 'iso', 'netapp']);
    assert.ok(byType.get('file')!.capabilities.includes('VDI_SNAPSHOT'));
    assert.ok(byType.get('file')!.capabilities.includes('THIN_PROVISIONING'));
    assert.ok(!byType.get('iso')!.capabilities.includes('VDI_CREATE'), 'an ISO library makes no disks');
    assert.equal(Number(byType.get('netapp')!.features.VDI_CLONE), 1);
    assert.ok('storagePoolId' in byType.get('equallogic')!.configuration);

    const xe = await runXe(['-s', '127.0.0.1', '-p', String(islet.port), '-pw', islet.rootPassword, 'sm-list', 'params=type', '--minimal']);
    assert.equal(xe.code, 0, xe.err);
    assert.deepEqual(xe.out.trim().split(',').sort(), ['equallogic', 'file', 'iso', 'netapp']);

    c.close();
    await islet.kill9();
    islet = await islet.restart();
    c = new XapiClient({ url: islet.url });
    await c.login('root', islet.rootPassword);
    const again = Object.values((await c.call('SM.get_all_records')) as Record<string, Rec>);
    assert.deepEqual(again.map((r) => r.uuid).sort(), records.map((r) => r.uuid).sort());
  });
});
