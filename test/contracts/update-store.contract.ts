/**
 * @module
 * The contract of the updates storage port (`UpdateStore`, what the upload and download
 * handlers reach the updates subsystem through): a file received into `incomingDir` and
 * signed by a key the pool trusts is kept at `storedPath(uuid)` with its `pool_patch` and
 * `pool_update` records (the twin named by `pool_patch.pool_update`, with a uuid of its own
 * derived from the patch's); a second copy, a file signed by a stranger's key and a file that
 * is no update are refused with the XenAPI errors clients know, leave nothing behind, and
 * the received file is consumed whatever the verdict. Real gpg-signed packages (zip, gpg,
 * sha256sum) and real files; a test file calls `runUpdateStoreContract(name, make)`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiRefusal } from './api-refusal.js';
import type { PoolDb } from '../../src/core/ports/pool-db.js';
import type { UpdateStore } from '../../src/core/ports/updates.js';
import { UpdateFixture } from '../updates/update-fixture.js';
import { twinUuid } from '../../src/updates/patch-records.js';

export interface UpdateStoreFixture {
  readonly store: UpdateStore;
  /** The pool database the store writes its records into. */
  readonly db: PoolDb;
  stop(): Promise<void>;
}

/** Makes a store over an empty pool that trusts the armoured public key `trustedKey`. */
export type MakeUpdateStore = (trustedKey: Buffer) => Promise<UpdateStoreFixture>;

type Rec = Record<string, unknown>;

export function runUpdateStoreContract(name: string, make: MakeUpdateStore): void {
  describe(`UpdateStore contract: ${name}`, { timeout: 180_000 }, () => {
    let signer: UpdateFixture;
    let stranger: UpdateFixture;
    let fx: UpdateStoreFixture;
    let n = 0;
    /** Puts a copy of `file` where uploads are received, as the upload handler does. */
    const receive = async (file: string) => {
      const path = join(fx.store.incomingDir, `upload-${++n}-${basename(file)}`);
      await copyFile(file, path);
      return { path, size: (await stat(path)).size };
    };
    const byUuid = (cls: string, uuid: string) => fx.db.all(cls).filter(([, r]) => r.uuid === uuid);

    before(async () => {
      [signer, stranger] = await Promise.all([UpdateFixture.create(), UpdateFixture.create()]);
      fx = await make(await readFile(signer.keyFile));
    });
    after(async () => {
      await fx?.stop();
      await signer?.close();
      await stranger?.close();
    });

    it('keeps a trusted update with its records and consumes the received file', async () => {
      const u = await signer.custom({ name: 'XS602E801' });
      const got = await receive(u.path);
      const ref = await fx.store.accept(got.path, got.size);
      assert.equal(existsSync(got.path), false, 'the received file is consumed');
      const patch = fx.db.get('pool_patch', ref as never) as Rec | undefined;
      assert.ok(patch, `accept returned ${ref}, which is no pool_patch`);
      assert.equal(patch.uuid, u.uuid);
      assert.equal(patch.name_label, 'XS602E801');
      assert.equal(byUuid('pool_update', u.uuid).length, 0, 'no pool_update carries the patch\'s uuid');
      const twin = fx.db.get('pool_update', patch.pool_update as never) as Rec | undefined;
      assert.ok(twin, 'pool_patch.pool_update names its twin');
      assert.equal(twin.uuid, twinUuid(u.uuid));
      assert.equal(twin.name_label, 'XS602E801');
      assert.ok((await readFile(fx.store.storedPath(u.uuid))).equals(await readFile(u.path)), 'the kept file is the one sent');
    });

    it('a second copy of a kept update: PATCH_ALREADY_EXISTS, consumed, still one of each record', async () => {
      const u = await signer.custom({ name: 'XS602E802' });
      const first = await receive(u.path);
      await fx.store.accept(first.path, first.size);
      const again = await receive(u.path);
      const e = await apiRefusal(fx.store.accept(again.path, again.size));
      assert.equal(e.code, 'PATCH_ALREADY_EXISTS');
      assert.deepEqual(e.params, [u.uuid]);
      assert.equal(existsSync(again.path), false, 'the refused file is consumed');
      assert.equal(byUuid('pool_patch', u.uuid).length, 1);
      assert.equal(byUuid('pool_update', twinUuid(u.uuid)).length, 1);
      assert.ok(existsSync(fx.store.storedPath(u.uuid)), 'the kept copy stays');
    });

    it('an update signed by a key the pool does not trust: INVALID_PATCH, nothing kept', async () => {
      const u = await stranger.custom({ name: 'XS602E803' });
      const got = await receive(u.path);
      const e = await apiRefusal(fx.store.accept(got.path, got.size));
      assert.match(e.code, /^INVALID_PATCH/);
      assert.equal(existsSync(got.path), false, 'the refused file is consumed');
      assert.equal(existsSync(fx.store.storedPath(u.uuid)), false, 'nothing kept');
      assert.equal(byUuid('pool_patch', u.uuid).length + byUuid('pool_update', twinUuid(u.uuid)).length, 0, 'no records');
    });

    it('a file that is no update: INVALID_PATCH, consumed, nothing recorded', async () => {
      const before = fx.db.all('pool_patch').length;
      const junk = join(signer.work, 'junk.xsupdate');
      await writeFile(junk, Buffer.from('PK\x03\x04 not a zip at all, let alone a signed update'));
      const got = await receive(junk);
      const e = await apiRefusal(fx.store.accept(got.path, got.size));
      assert.match(e.code, /^INVALID_PATCH/);
      assert.equal(existsSync(got.path), false);
      assert.equal(fx.db.all('pool_patch').length, before);
    });

    it('storedPath names one place per uuid, where nothing is for an unknown update', async () => {
      const a = fx.store.storedPath('0b9d5f8e-4c1a-4e6b-9a51-3f0c1e2d7a11');
      const b = fx.store.storedPath('6f1c2d3e-8a9b-4c7d-8e5f-1a2b3c4d5e6f');
      assert.notEqual(a, b);
      assert.equal(existsSync(a), false);
    });
  });
}
