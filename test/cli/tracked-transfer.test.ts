/**
 * The verdict xe's transfers report (`trackedTransfer`, shared by vdi-import/export and
 * vm-import/export), against a real server and real HTTP transfers: a transfer that works
 * returns the task's result; an HTTP refusal reports the task's own failure (the error the
 * server settled it with, not the HTTP status); a failure on the client's side is reported
 * at once as itself. Whatever happened, the task is destroyed afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiCallError } from '../../src/client/xapi-call-error.js';
import { trackedTransfer } from '../../src/cli/commands/tracked-transfer.js';
import { MiB, importImage, pattern, startStorageFixture, type StorageFixture } from '../storage/acceptance/storage-fixture.js';

describe('trackedTransfer', { timeout: 120_000 }, () => {
  let f: StorageFixture;
  let work: string;
  let vdi: string;
  const data = pattern(3, 4 * MiB);
  const ctx = () => ({ client: f.api, call: (m: string, ...a: unknown[]) => f.api.call(m, ...a) });
  /** The tasks the transfer ran under, to check each is gone afterwards. */
  const seen: string[] = [];
  const gone = async (task: string) => {
    await assert.rejects(f.api.call('task.get_status', task), (e: unknown) => e instanceof XapiCallError && e.code === 'HANDLE_INVALID',
      `task ${task} should have been destroyed`);
  };

  before(async () => {
    f = await startStorageFixture();
    work = await mkdtemp(join(tmpdir(), 'tracked-'));
    vdi = String(await f.api.call('VDI.create', {
      name_label: 'tracked', SR: f.sr, virtual_size: String(data.length), type: 'user', sharable: false, read_only: false, other_config: {},
    }));
    await importImage(f.api, vdi, data);
  });
  after(async () => {
    await f?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a transfer that works gives the task\'s result, and the task is destroyed', async () => {
    const out = join(work, 'ok.raw');
    const result = await trackedTransfer(ctx(), 'test export', async (task) => {
      seen.push(task);
      await f.api.download('/export_raw_vdi', { vdi, task_id: task }, out);
    });
    assert.equal(result, '', 'an export task has an empty result');
    assert.ok((await readFile(out)).equals(data));
    await gone(seen.at(-1)!);
  });

  it('an HTTP refusal reports the error the server failed the task with', async () => {
    const bogus = '00000000-0000-4000-8000-000000000000';
    const err = await trackedTransfer(ctx(), 'test export', async (task) => {
      seen.push(task);
      await f.api.download('/export_raw_vdi', { vdi: bogus, task_id: task }, join(work, 'no.raw'));
    }).then(() => assert.fail('the transfer of a disk that does not exist succeeded'), (e: unknown) => e);
    assert.ok(err instanceof XapiCallError, `expected the task's XenAPI error, got ${String(err)}`);
    assert.equal(err.code, 'UUID_INVALID');
    assert.deepEqual(err.params, ['VDI', bogus]);
    await gone(seen.at(-1)!);
  });

  it('a failure on this side is the command\'s, as it is, and the task is destroyed', async () => {
    const out = join(work, 'no-such-dir', 'x.raw');
    const err = await trackedTransfer(ctx(), 'test export', async (task) => {
      seen.push(task);
      await f.api.download('/export_raw_vdi', { vdi, task_id: task }, out);
    }).then(() => assert.fail('writing into a missing directory succeeded'), (e: unknown) => e);
    assert.equal((err as { code?: string }).code, 'ENOENT', String(err));
    await gone(seen.at(-1)!);
  });
});
