/**
 * The start-up rewrite of databases written when a pool_update twin carried its pool_patch's
 * uuid, on an in-memory pool database: every twin gets the derived uuid, keeps its ref and
 * fields, a patch that lost its link finds its twin by the old shared uuid, and a second run
 * changes nothing. The same rewrite through a real server's restart is in twin-uuid.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { classes } from '../../src/datamodel/index.js';
import { MemoryPoolDb } from '../../src/db/memory-pool-db.js';
import { NULL_REF } from '../../src/core/ref.js';
import { createUpdateRecords, resolvePair, twinUuid, updateRefOf } from '../../src/updates/patch-records.js';
import { migrateTwinUuids } from '../../src/updates/twin-uuid-migration.js';
import type { UpdateManifest } from '../../src/updates/package/update-manifest.js';

function manifest(name: string): UpdateManifest {
  return {
    uuid: randomUUID(), name_label: name, name_description: `${name} test`, version: '1.0',
    after_apply_guidance: ['restartXAPI'], installation_size: 10, requires: [], conflicts: [], other_config: {}, files: [],
  };
}

describe('migrateTwinUuids', () => {
  it('gives old twins the derived uuid, keeps refs and fields, relinks by the old uuid, and is idempotent', () => {
    const db = new MemoryPoolDb(classes);
    const [a, b, c] = [manifest('A'), manifest('B'), manifest('C')];
    const pa = createUpdateRecords(db, a, 'FPR', 100);
    const pb = createUpdateRecords(db, b, 'FPR', 100);
    const pc = createUpdateRecords(db, c, 'FPR', 100);
    assert.equal(db.get('pool_update', pa.update)!.uuid, twinUuid(a.uuid), 'new records are made in the new form');
    // What the old code wrote: the twin with the patch's uuid; B also without its link.
    db.update('pool_update', pa.update, { uuid: a.uuid, hosts: ['OpaqueRef:h1'] });
    db.update('pool_update', pb.update, { uuid: b.uuid });
    db.update('pool_patch', pb.patch, { pool_update: NULL_REF });
    assert.equal(db.refByUuid('pool_update', a.uuid), pa.update);

    const changed = migrateTwinUuids(db);
    assert.deepEqual(new Set(changed), new Set([a.uuid, b.uuid]), 'C was already in the new form');
    for (const [m, p] of [[a, pa], [b, pb], [c, pc]] as const) {
      assert.equal(db.get('pool_update', p.update)!.uuid, twinUuid(m.uuid), m.name_label);
      assert.equal(db.refByUuid('pool_update', m.uuid), undefined, `${m.name_label}: no twin keeps the patch's uuid`);
      assert.equal(db.get('pool_patch', p.patch)!.pool_update, p.update, `${m.name_label}: linked`);
      assert.equal(updateRefOf(db, m.uuid), p.update);
      assert.deepEqual(resolvePair(db, 'update', p.update), { uuid: m.uuid, patch: p.patch, update: p.update });
    }
    assert.deepEqual(db.get('pool_update', pa.update)!.hosts, ['OpaqueRef:h1'], 'other fields kept');
    assert.equal(db.get('pool_update', pa.update)!.name_label, 'A');
    assert.deepEqual(migrateTwinUuids(db), [], 'a second run changes nothing');
  });
});
