/**
 * A pool_update twin has a uuid of its own, on a real `islet server`: a client that looks a
 * uuid up in every class (as a generic "find by uuid" does) finds only the pool_patch for
 * the patch's uuid and only the pool_update for the twin's; Xen Orchestra's `xen-api`
 * client finds the pool_patch by the uuid `xe patch-upload` printed and
 * `pool_patch.pool_apply` with that ref applies it (the HANDLE_INVALID came from a
 * pool_update ref found by the shared uuid); and a database written when twins carried
 * their patch's uuid is rewritten when the server starts, refs and applied state kept, and
 * when such a dump is restored with `xe pool-restore-database`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
// @ts-expect-error xen-api ships no types
import { createClient } from 'xen-api';
import { XapiClient } from '../../src/client/xapi-client.js';
import { XapiCallError } from '../../src/client/xapi-call-error.js';
import { classes } from '../../src/datamodel/index.js';
import { openPoolDb } from '../../src/db/sqlite-pool-db.js';
import { twinUuid } from '../../src/updates/patch-records.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { UPDATE_UUID } from './package/hand-build.js';
import { UpdateFixture } from './update-fixture.js';

const PW = 'twin-pw';

describe('pool_update twins have a uuid of their own', { timeout: 240_000 }, () => {
  let fx: UpdateFixture;
  let dataDir: string;
  let srv: IsletProcess | undefined;
  let api: XapiClient | undefined;

  const start = async () => {
    srv = await startIslet({ rootPassword: PW, dataDir, ownsDataDir: false, args: ['--update-key', fx.keyFile] });
    api = new XapiClient({ url: `https://127.0.0.1:${srv.port}` });
    await api.login('root', PW);
  };
  const stop = async () => {
    api?.close();
    api = undefined;
    await srv?.stop();
    srv = undefined;
  };
  const xe = (...a: string[]) => fx.xe(['-s', '127.0.0.1', '-p', String(srv!.port), '-u', 'root', '-pw', PW, ...a]);
  const refusal = async (p: Promise<unknown>): Promise<XapiCallError> => {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof XapiCallError, String(e));
      return e;
    }
    assert.fail('expected a XenAPI error');
  };

  /** Every class whose get_by_uuid answers for `uuid`, asking each class the server has. */
  async function classesHolding(uuid: string): Promise<string[]> {
    const listed = ((await api!.call('system.listMethods')) as string[]).filter((m) => m.endsWith('.get_by_uuid'));
    // pool_update is not listed by a 6.0.2 identity, but a client may still call it.
    const methods = [...new Set([...listed, 'pool_update.get_by_uuid'])];
    const hits: string[] = [];
    for (const m of methods) {
      try {
        await api!.call(m, uuid);
        hits.push(m.slice(0, -'.get_by_uuid'.length));
      } catch (e) {
        assert.ok(e instanceof XapiCallError && e.code === 'UUID_INVALID', `${m}: ${String(e)}`);
      }
    }
    return hits.sort();
  }

  before(async () => {
    fx = await UpdateFixture.create();
    dataDir = await mkdtemp(join(tmpdir(), 'islet-twin-'));
    await start();
  });
  after(async () => {
    await stop();
    await rm(dataDir, { recursive: true, force: true });
    await fx?.close();
  });

  it('a uuid lookup in every class finds the pool_patch for the patch\'s uuid and the pool_update for the twin\'s', async () => {
    const up = await xe('patch-upload', `file-name=${await fx.build()}`);
    assert.equal(up.code, 0, up.err);
    assert.equal(up.out.trim(), UPDATE_UUID);
    const patch = await api!.call('pool_patch.get_by_uuid', UPDATE_UUID);
    const twin = await api!.call('pool_patch.get_pool_update', patch);
    const twinId = String(await api!.call('pool_update.get_uuid', twin));
    assert.equal(twinId, twinUuid(UPDATE_UUID));
    assert.notEqual(twinId, UPDATE_UUID);

    assert.deepEqual(await classesHolding(UPDATE_UUID), ['pool_patch']);
    assert.deepEqual(await classesHolding(twinId), ['pool_update']);
    assert.equal(await api!.call('pool_update.get_by_uuid', twinId), twin);
    const e = await refusal(api!.call('pool_update.get_by_uuid', UPDATE_UUID));
    assert.deepEqual([e.code, e.params], ['UUID_INVALID', ['pool_update', UPDATE_UUID]]);

    const list = await xe('update-list', 'params=uuid', '--minimal');
    assert.equal(list.code, 0, list.err);
    assert.equal(list.out.trim(), twinId, 'xe update-list shows the twin\'s own uuid');
  });

  it('Xen Orchestra\'s client looks the patch\'s uuid up and pool_patch.pool_apply with that ref applies it', async () => {
    const xo = createClient({ url: `https://127.0.0.1:${srv!.port}`, auth: { user: 'root', password: PW }, allowUnauthorized: true, debounce: 0 });
    await xo.connect();
    try {
      await xo.objectsFetched;
      const deadline = Date.now() + 10_000;
      while (xo.getObjectByUuid(UPDATE_UUID, undefined) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const found = xo.getObjectByUuid(UPDATE_UUID, undefined);
      assert.ok(found, 'the client knows the patch by its uuid');
      assert.equal(found.$type, 'pool_patch');
      await xo.callAsync('pool_patch.pool_apply', found.$ref);
    } finally {
      await xo.disconnect();
    }
    const patch = await api!.call('pool_patch.get_by_uuid', UPDATE_UUID);
    const [host] = (await api!.call('host.get_all')) as string[];
    assert.equal((await api!.call('pool_patch.get_host_patches', patch) as string[]).length, 1);
    assert.deepEqual(await api!.call('pool_update.get_hosts', await api!.call('pool_patch.get_pool_update', patch)), [host]);
  });

  it('a database whose twins carry their patch\'s uuid (as the old code wrote) is rewritten at start', async () => {
    const second = await fx.custom({ name: 'XS602E011', guidance: [] });
    const up = await xe('patch-upload', `file-name=${second.path}`);
    assert.equal(up.code, 0, up.err);
    const before = new Map<string, { patch: string; twin: string; hosts: unknown }>();
    for (const uuid of [UPDATE_UUID, second.uuid]) {
      const patch = String(await api!.call('pool_patch.get_by_uuid', uuid));
      const twin = String(await api!.call('pool_patch.get_pool_update', patch));
      before.set(uuid, { patch, twin, hosts: await api!.call('pool_update.get_hosts', twin) });
    }
    await stop();
    // The old form, written into the stopped server's database.
    const db = openPoolDb(join(dataDir, 'pool.db'), classes);
    try {
      for (const [uuid, b] of before) db.update('pool_update', b.twin, { uuid });
      assert.equal(db.refByUuid('pool_update', UPDATE_UUID), before.get(UPDATE_UUID)!.twin);
    } finally {
      db.close();
    }
    await start();
    assert.match(srv!.stderr(), /pool_update twins given their own uuid/);
    for (const [uuid, b] of before) {
      assert.equal(await api!.call('pool_update.get_by_uuid', twinUuid(uuid)), b.twin, 'same ref, derived uuid');
      assert.deepEqual(await api!.call('pool_update.get_hosts', b.twin), b.hosts, 'applied state kept');
      assert.deepEqual(await classesHolding(uuid), ['pool_patch']);
    }
    // The migrated pair still works as one: apply the second update through its twin.
    const [host] = (await api!.call('host.get_all')) as string[];
    await api!.callAsync('pool_update.apply', before.get(second.uuid)!.twin, host);
    const hp = (await api!.call('pool_patch.get_host_patches', before.get(second.uuid)!.patch)) as string[];
    assert.equal(hp.length, 1, 'the pool_patch side records the apply too');
  });

  it('a dump in the old form given to xe pool-restore-database comes back with the twins\' own uuids', async () => {
    const dump = join(fx.work, 'old-form.json');
    const d = await xe('pool-dump-database', `file-name=${dump}`);
    assert.equal(d.code, 0, d.err);
    const doc = JSON.parse(await readFile(dump, 'utf8')) as { classes: Record<string, Array<{ ref: string; row: Record<string, unknown> }>> };
    const patchUuidOf = new Map(doc.classes.pool_patch!.map(({ row }) => [String(row.pool_update), String(row.uuid)]));
    assert.equal(patchUuidOf.size, 2);
    for (const { ref, row } of doc.classes.pool_update!) row.uuid = patchUuidOf.get(ref);
    await writeFile(dump, JSON.stringify(doc));
    const r = await xe('pool-restore-database', `file-name=${dump}`);
    assert.equal(r.code, 0, r.err);
    api!.close();
    api = new XapiClient({ url: `https://127.0.0.1:${srv!.port}` });
    await api.login('root', PW);
    for (const [twin, uuid] of patchUuidOf) {
      assert.equal(await api.call('pool_update.get_by_uuid', twinUuid(uuid)), twin);
      assert.deepEqual(await classesHolding(uuid), ['pool_patch']);
    }
  });
});
