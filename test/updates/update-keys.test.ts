/**
 * The pool's trusted update keys in the database: added from gpg's export (armoured or
 * binary, several at once), listed, removed, secret keys refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { classes } from '../../src/datamodel/index.js';
import { MemoryPoolDb } from '../../src/db/memory-pool-db.js';
import { addUpdateKeys, listUpdateKeys, removeUpdateKey, trustedUpdateKeys } from '../../src/updates/update-keys.js';
import { GpgHome, type GpgKey } from './package/gpg-home.js';

describe('trusted update keys', () => {
  let gpg: GpgHome;
  let a: GpgKey;
  let b: GpgKey;
  before(async () => {
    gpg = await GpgHome.create();
    a = await gpg.genKey('A <a@example.com>', 'ed25519');
    b = await gpg.genKey('B <b@example.com>', 'rsa2048');
  });
  after(async () => { await gpg.close(); });

  it('adds, lists and removes keys; the store is a replicated pool: entry', async () => {
    const db = new MemoryPoolDb(classes);
    const both = (await gpg.gpg(['--armor', '--export', a.fingerprint, b.fingerprint])).stdout;
    const fps = await addUpdateKeys(db, both);
    assert.deepEqual([...fps].sort(), [a.fingerprint, b.fingerprint].sort());
    assert.deepEqual(listUpdateKeys(db).map((k) => k.uid).sort(), ['A <a@example.com>', 'B <b@example.com>']);
    assert.ok(db.getMeta('pool:update-keys'));
    assert.equal(trustedUpdateKeys(db).length, 2);
    removeUpdateKey(db, a.fingerprint.toLowerCase());
    assert.deepEqual(listUpdateKeys(db).map((k) => k.fingerprint), [b.fingerprint]);
    assert.throws(() => removeUpdateKey(db, a.fingerprint), (e: Error & { code?: string }) => e.code === 'INVALID_VALUE');
    db.close();
  });

  it('refuses secret keys and garbage', async () => {
    const db = new MemoryPoolDb(classes);
    await assert.rejects(addUpdateKeys(db, await gpg.exportSecret(a)), (e: Error & { code?: string }) => e.code === 'INVALID_VALUE');
    await assert.rejects(addUpdateKeys(db, 'not a key'), (e: Error & { code?: string }) => e.code === 'INVALID_VALUE');
    assert.deepEqual(listUpdateKeys(db), []);
    db.close();
  });
});
