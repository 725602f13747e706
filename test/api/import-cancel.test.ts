/**
 * Cancelling a disk import on the host that runs it (a lone master, a real server on
 * loopback): the client sends part of a large body and then nothing more, as a slow client
 * does, and `task.cancel` must end the request without waiting for its next bytes. The task
 * ends `cancelled` with TASK_CANCELLED (not a failure with the abort's message). A new disk
 * made for an `sr_id=` import is rolled back: no VDI, no `.vhd` file, no import mark, the
 * SR's figures as before. An import into an existing disk (`vdi=`) keeps the disk, which
 * holds what had been written, as when its client goes away.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../helpers/islet-pool.js';
import { MiB, startStorageFixture, type StorageFixture } from '../storage/acceptance/storage-fixture.js';

type Rec = Record<string, any>;

describe('cancelling a disk import on its host', { timeout: 300_000 }, () => {
  let f: StorageFixture;

  before(async () => {
    f = await startStorageFixture();
  });
  after(async () => {
    await f?.close();
  });

  const srPath = async () => {
    const pbd = ((await f.api.call('SR.get_PBDs', f.sr)) as string[])[0]!;
    return ((await f.api.call('PBD.get_device_config', pbd)) as Record<string, string>).path!;
  };
  const state = async (): Promise<Rec> => {
    const sr = (await f.api.call('SR.get_record', f.sr)) as Rec;
    const marked = Object.values((await f.api.call('VDI.get_all_records')) as Record<string, Rec>)
      .filter((r) => Object.keys(r.other_config).some((k) => k.startsWith('islet_import'))).length;
    return {
      VDI: ((await f.api.call('VDI.get_all')) as string[]).length,
      files: (await readdir(await srPath())).filter((n) => n.endsWith('.vhd')).sort(),
      marked, physical_utilisation: sr.physical_utilisation, virtual_allocation: sr.virtual_allocation,
    };
  };

  /**
   * PUTs 6 MiB of a `length`-byte body under `task`, waits until the import is in the disk
   * data, cancels the task and resolves with what the server answered (or that it cut).
   */
  async function cancelMidway(query: Record<string, string>, task: string, length: number): Promise<{ status?: number; body: string }> {
    const req = http.request(f.api.fileUrl('/import_raw_vdi', { ...query, task_id: task }), { method: 'PUT', headers: { 'content-length': length } });
    const answered = new Promise<{ status?: number; body: string }>((resolve) => {
      req.on('error', () => resolve({ body: '' }));
      req.on('response', (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => { body += d; });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        r.on('error', () => resolve({ status: r.statusCode ?? 0, body }));
      });
    });
    req.write(randomBytes(6 * MiB));
    try {
      await waitFor(async () => Number(await f.api.call('task.get_progress', task)) > 0, 60_000, 'the import to reach the disk data');
      await f.api.call('task.cancel', task);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('the cancelled import\'s request did not end within 60 s')), 60_000); });
      return await Promise.race([answered, late]).finally(() => clearTimeout(timer));
    } finally {
      req.destroy();
    }
  }
  const ended = (task: string) => waitFor(async () => {
    const s = String(await f.api.call('task.get_status', task));
    return s === 'pending' || s === 'cancelling' ? undefined : s;
  }, 60_000, 'the task to end');

  it('an sr_id= import cancelled midway ends cancelled and leaves nothing', async () => {
    const before = await state();
    const task = String(await f.api.call('task.create', 'slow import', ''));
    const got = await cancelMidway({ sr_id: f.sr }, task, 256 * MiB);
    if (got.status !== undefined) {
      assert.notEqual(got.status, 200);
      assert.match(got.body, /TASK_CANCELLED/);
    }
    assert.equal(await ended(task), 'cancelled');
    assert.deepEqual(await f.api.call('task.get_error_info', task), ['TASK_CANCELLED', task]);
    let now: Rec = {};
    await waitFor(async () => JSON.stringify(now = await state()) === JSON.stringify(before), 60_000, 'the import to be rolled back')
      .catch((e: Error) => assert.fail(`${e.message}\nbefore: ${JSON.stringify(before)}\nnow:    ${JSON.stringify(now)}`));
    await f.api.call('task.destroy', task);
  });

  it('a vdi= import cancelled midway ends cancelled and keeps its disk', async () => {
    const vdi = String(await f.api.call('VDI.create', {
      name_label: 'cancel target', name_description: '', SR: f.sr, virtual_size: String(256 * MiB), type: 'user',
      sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [],
    }));
    const task = String(await f.api.call('task.create', 'slow import into a disk', ''));
    await cancelMidway({ vdi }, task, 256 * MiB);
    assert.equal(await ended(task), 'cancelled');
    assert.deepEqual(await f.api.call('task.get_error_info', task), ['TASK_CANCELLED', task]);
    assert.equal(Number(await f.api.call('VDI.get_virtual_size', vdi)), 256 * MiB, 'the disk is still there');
    await f.api.call('task.destroy', task);
    await f.api.call('VDI.destroy', vdi);
  });
});
