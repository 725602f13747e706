/**
 * Crash recovery of a disk import on a pool member, as `test/api/import-crash-recovery`
 * tests it on a lone master: in a 2-host pool of real processes, `PUT /import_raw_vdi?sr_id=`
 * sent to the member (which makes the disk on the shared SR) is cut by SIGKILL of the
 * member's toolstack mid-body. The supervisor's watchdog starts the toolstack again; then,
 * seen from the master, nothing of the import is left (no VDI record, no `.vhd` file, the
 * SR's figures as before, no import mark on any record) and the import's task reads
 * `failure` with `IMPORT_ERROR` rather than staying pending. Tasks live in the memory of
 * the host that made them, so the member reports on the master's task through the pool
 * link; an import that ends well shows there as success with the new disk.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { waitFor, type IsletPool } from '../helpers/islet-pool.js';
import { basicAuth, memberUrl, srPath, srState, startMemberTransferPool } from '../helpers/member-transfer-pool.js';

const MiB = 1024 * 1024;
type Rec = Record<string, any>;

describe('a raw disk import on a pool member cut by a toolstack crash', { timeout: 600_000 }, () => {
  let pool: IsletPool;
  let c: XapiClient;
  let sr = '';

  before(async () => {
    ({ pool, c, sr } = await startMemberTransferPool());
  });
  after(async () => {
    c?.close();
    await pool?.stop();
  });

  /**
   * A raw import of a new disk on the shared SR, sent to the member under the master's task,
   * logging in there by Basic auth (sessions are each host's own).
   */
  const memberImport = (task: string): { url: URL; auth: string } => ({ url: memberUrl(pool, '/import_raw_vdi', task, { sr_id: sr }), auth: basicAuth(pool) });
  const state = () => srState(c, sr);

  it('a member\'s import reports on the task its client made on the master: progress, then success with the new disk', async () => {
    const task = String(await c.call('task.create', 'member raw import', ''));
    const bytes = randomBytes(8 * MiB);
    const { url, auth } = memberImport(task);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(url, { method: 'PUT', headers: { 'content-length': bytes.length, authorization: auth } });
      req.on('error', reject);
      req.on('response', (r) => { r.resume(); r.on('end', () => resolve(r.statusCode ?? 0)); });
      req.end(bytes);
    });
    assert.equal(status, 200);
    const done = await waitFor(async () => {
      const s = String(await c.call('task.get_status', task));
      return s === 'pending' ? undefined : s;
    }, 60_000, 'the master\'s task to end');
    assert.equal(done, 'success', `the task: ${JSON.stringify(await c.call('task.get_error_info', task))}`);
    assert.equal(Number(await c.call('task.get_progress', task)), 1);
    const vdi = /OpaqueRef:[0-9a-f-]+/.exec(String(await c.call('task.get_result', task)))?.[0];
    assert.ok(vdi, 'the task\'s result names the new disk');
    assert.equal(Number(await c.call('VDI.get_virtual_size', vdi)), 8 * MiB);
    await c.call('VDI.destroy', vdi);
    await c.call('task.destroy', task);
  });

  it('after the member\'s toolstack is back, the half-made disk is gone and the task failed with IMPORT_ERROR', async () => {
    const before = await state();
    const memberBefore = await pool.hostStatus(1);
    const task = String(await c.call('task.create', 'member crash raw import', ''));
    const bytes = randomBytes(40 * MiB);
    const { url, auth } = memberImport(task);
    const req = http.request(url, { method: 'PUT', headers: { 'content-length': bytes.length, authorization: auth } });
    req.on('error', () => undefined);
    req.on('response', (r) => r.resume());
    req.write(bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    // The import's disk file on the shared SR, with data in it, when the toolstack dies.
    const path = await srPath(c, sr);
    await waitFor(async () => {
      const made = (await state()).files.filter((f) => !before.files.includes(f));
      return made.length === 1 && (await stat(join(path, made[0]!))).size > 8 * MiB;
    }, 60_000, 'the member\'s import to write disk data into a new file on the shared SR');
    await pool.kill9Toolstack(1);
    req.destroy();
    await waitFor(async () => {
      const s = await pool.hostStatus(1);
      return s.state === 'up' && s.toolstackPid !== undefined && s.toolstackPid !== memberBefore.toolstackPid && s.toolstackStarts > memberBefore.toolstackStarts;
    }, 60_000, 'the watchdog to start host1\'s toolstack again');

    let now: Rec = {};
    await waitFor(async () => JSON.stringify(now = await state()) === JSON.stringify(before), 60_000, 'the member to roll the import back')
      .catch((e: Error) => assert.fail(`${e.message}: records, .vhd files and SR figures are not back to before\nbefore: ${JSON.stringify(before)}\nnow:    ${JSON.stringify(now)}`));
    for (const [, r] of Object.entries((await c.call('VDI.get_all_records')) as Record<string, Rec>)) {
      assert.ok(!Object.keys(r.other_config).some((k) => k.startsWith('islet_import')), 'a VDI still carries an import mark');
    }
    const status = await waitFor(async () => {
      const s = String(await c.call('task.get_status', task).catch(() => 'gone'));
      return s === 'pending' ? undefined : s;
    }, 60_000, `the import's task to leave pending after the member restarted\n${pool.logs(1).slice(-3000)}`);
    assert.equal(status, 'failure', 'the import\'s task');
    assert.equal(((await c.call('task.get_error_info', task)) as string[])[0], 'IMPORT_ERROR', 'the task\'s error');
    await c.call('task.destroy', task);
  });
});
