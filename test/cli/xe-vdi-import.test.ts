/**
 * `xe vdi-import` is one request: the PUT names the disk by uuid and carries the user's
 * name and password, so xe opens no session and makes no XenAPI call (`--debug` lists
 * none). What the server refuses is reported with xe's texts, from the error the server
 * answers a client that accepts JSON with: XenAPI's failure object, whose parameters keep
 * their bounds. Against a real server, through bin/xe.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runXe, xeConnection } from '../helpers/xe.js';
import { MiB, type StorageFixture, pattern, startStorageFixture } from '../storage/acceptance/storage-fixture.js';

describe('xe vdi-import', () => {
  let f: StorageFixture;
  let work: string;
  let uuid: string;
  const data = pattern(7, 4 * MiB);

  before(async () => {
    f = await startStorageFixture();
    work = await mkdtemp(join(tmpdir(), 'xe-vdi-import-'));
    const srUuid = String(await f.api.call('SR.get_uuid', f.sr));
    uuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=imported', 'virtual-size=4MiB');
    await writeFile(join(work, 'disk.raw'), data);
  });
  after(async () => {
    await f?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('writes the disk with one request and no XenAPI call', async () => {
    const r = await f.xe('--debug', 'vdi-import', `uuid=${uuid}`, `filename=${join(work, 'disk.raw')}`);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.err, /^call /m);
    const out = join(work, 'back.raw');
    await f.xeOk('vdi-export', `uuid=${uuid}`, `filename=${out}`);
    assert.ok((await readFile(out)).equals(data));
  });

  it('says so when the uuid names no disk', async () => {
    const r = await f.xe('vdi-import', 'uuid=00000000-0000-4000-8000-000000000000', `filename=${join(work, 'disk.raw')}`);
    assert.equal(r.code, 1);
    assert.match(r.err, /^The uuid you supplied was invalid\.\ntype: VDI\nuuid: 00000000-0000-4000-8000-000000000000$/m);
  });

  it('says authentication failed for a wrong password', async () => {
    const r = await runXe([...xeConnection({ port: f.islet.port, password: 'not-the-password', home: work }), 'vdi-import', `uuid=${uuid}`, `filename=${join(work, 'disk.raw')}`], { home: work });
    assert.equal(r.code, 1);
    assert.match(r.err, /^Authentication failed$/m);
  });

  it('gives the size the server asked for when the file is larger than the disk, which keeps its data', async () => {
    const big = join(work, 'big.raw');
    await writeFile(big, Buffer.alloc(5 * MiB, 0x5a));
    const r = await f.xe('vdi-import', `uuid=${uuid}`, `filename=${big}`);
    assert.equal(r.code, 1);
    assert.match(r.err, /^The VDI is too small\. Please resize it to at least the minimum size\.\nvdi: OpaqueRef:\S+\nminimum size: 5242880$/m);
    const out = join(work, 'after-refusal.raw');
    await f.xeOk('vdi-export', `uuid=${uuid}`, `filename=${out}`);
    assert.ok((await readFile(out)).equals(data));
  });

  it('answers a refusal as XenAPI\'s failure object to a client that accepts JSON, as a line otherwise', async () => {
    const url = `${f.islet.url}/import_raw_vdi?session_id=${f.api.sessionId}&vdi=no-such-disk`;
    const asJson = await fetch(url, { method: 'PUT', body: 'x', headers: { accept: 'application/json' } });
    assert.equal(asJson.status, 400);
    assert.match(asJson.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await asJson.json(), { Status: 'Failure', ErrorDescription: ['UUID_INVALID', 'VDI', 'no-such-disk'] });
    const asText = await fetch(url, { method: 'PUT', body: 'x' });
    assert.equal(asText.status, 400);
    assert.equal(await asText.text(), 'UUID_INVALID VDI no-such-disk\n');
  });
});
