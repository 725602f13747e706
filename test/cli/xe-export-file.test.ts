/**
 * The file `xe vdi-export` (and `pool-dump-database`) saves into is made as xe's client
 * makes it: a new file, its owner's alone. A file already there is left as it was and the
 * command fails with xe's text; so does a path whose directory is missing; an export the
 * server refuses leaves no file behind. Against a real server, through bin/xe. Needs a
 * built tree (`npm run build`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MiB, type StorageFixture, pattern, startStorageFixture } from '../storage/acceptance/storage-fixture.js';

describe('xe vdi-export into a file', () => {
  let f: StorageFixture;
  let work: string;
  let uuid: string;
  const data = pattern(3, 2 * MiB);

  before(async () => {
    f = await startStorageFixture();
    work = await mkdtemp(join(tmpdir(), 'xe-export-file-'));
    const srUuid = String(await f.api.call('SR.get_uuid', f.sr));
    uuid = await f.xeOk('vdi-create', `sr-uuid=${srUuid}`, 'name-label=exported', 'virtual-size=2MiB');
    await writeFile(join(work, 'disk.raw'), data);
    await f.xeOk('vdi-import', `uuid=${uuid}`, `filename=${join(work, 'disk.raw')}`);
  });
  after(async () => {
    await f?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('makes a new file that only its owner can read', async () => {
    const out = join(work, 'new.raw');
    await f.xeOk('vdi-export', `uuid=${uuid}`, `filename=${out}`);
    assert.ok((await readFile(out)).equals(data));
    assert.equal((await stat(out)).mode & 0o777, 0o600);
  });

  it('leaves a file already there as it was, and says so as xe does', async () => {
    const out = join(work, 'precious.txt');
    await writeFile(out, 'keep me\n');
    const tasksBefore = (await f.api.call('task.get_all') as string[]).length;
    const r = await f.xe('vdi-export', `uuid=${uuid}`, `filename=${out}`);
    assert.equal(r.code, 1);
    assert.equal(r.err, `Operation failed. Error: Sys_error("${out}: File exists")\n`);
    assert.equal(await readFile(out, 'utf8'), 'keep me\n');
    assert.equal((await f.api.call('task.get_all') as string[]).length, tasksBefore, 'no export was started');
  });

  it('fails on a directory that does not exist', async () => {
    const out = join(work, 'missing', 'x.raw');
    const r = await f.xe('vdi-export', `uuid=${uuid}`, `filename=${out}`);
    assert.equal(r.code, 1);
    assert.equal(r.err, `Operation failed. Error: Sys_error("${out}: No such file or directory")\n`);
  });

  it('holds for pool-dump-database too', async () => {
    const out = join(work, 'db.dump');
    await writeFile(out, 'older dump\n');
    const r = await f.xe('pool-dump-database', `file-name=${out}`);
    assert.equal(r.code, 1);
    assert.equal(r.err, `Operation failed. Error: Sys_error("${out}: File exists")\n`);
    assert.equal(await readFile(out, 'utf8'), 'older dump\n');
    const fresh = join(work, 'db2.dump');
    await f.xeOk('pool-dump-database', `file-name=${fresh}`);
    assert.ok((await stat(fresh)).size > 0);
    assert.equal((await stat(fresh)).mode & 0o777, 0o600);
  });

  it('with base= holds only what differs from that VDI', async () => {
    const snap = await f.xeOk('vdi-snapshot', `uuid=${uuid}`);
    const changed = Buffer.from(data);
    changed.fill(0x5a, 0, 4096);
    await writeFile(join(work, 'changed.raw'), changed);
    await f.xeOk('vdi-import', `uuid=${uuid}`, `filename=${join(work, 'changed.raw')}`);
    const out = join(work, 'delta.raw');
    await f.xeOk('vdi-export', `uuid=${uuid}`, `filename=${out}`, `base=${snap}`);
    // The disk is one 2 MiB block: it changed, so it comes whole; from itself, nothing does.
    assert.ok((await readFile(out)).equals(changed));
    const none = join(work, 'none.raw');
    await f.xeOk('vdi-export', `uuid=${uuid}`, `filename=${none}`, `base=${uuid}`);
    assert.ok((await readFile(none)).equals(Buffer.alloc(data.length)));
  });

  it('removes the file it made when the server refuses the export', async () => {
    const out = join(work, 'refused.raw');
    const r = await f.xe('vdi-export', `uuid=${uuid}`, `filename=${out}`, 'format=qcow2');
    assert.equal(r.code, 1);
    assert.match(r.err, /Unknown format qcow2/);
    assert.equal(existsSync(out), false, 'no partial file is left');
  });
});
