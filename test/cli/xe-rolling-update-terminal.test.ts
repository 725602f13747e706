/**
 * `xe pool-rolling-update` on a real pseudo-terminal (util-linux `script`), as a user runs
 * it, over a 3-host `islet pool up`: an update asking for a toolstack restart is uploaded
 * with `xe patch-upload`, the run goes master first, and the terminal shows every step of
 * every host, in order (disable, evacuate, apply, restart, wait, enable, return, done),
 * then "Rolling update finished"; the master's own restart in the middle does not lose a
 * line. Then `xe pool-sync-database` returns with every member's replica caught up, and
 * `xe host-forget` removes a member that has died for good. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { completeRecord } from '../../src/client/create-record.js';
import { startPool, waitFor, type IsletPool } from '../helpers/islet-pool.js';
import { repoRoot } from '../helpers/repo-root.js';
import { runOnTerminal } from '../helpers/terminal.js';
import { UpdateFixture } from '../updates/update-fixture.js';

const STEPS = ['disable', 'evacuate', 'apply', 'restart', 'wait', 'enable', 'return', 'done'];

describe('xe pool-rolling-update on a terminal, 3 hosts', { timeout: 300_000 }, () => {
  let fx: UpdateFixture;
  let pool: IsletPool;
  let home: string;
  let conn: string[];

  before(async () => {
    fx = await UpdateFixture.create();
    home = await mkdtemp(join(tmpdir(), 'xe-rolling-home-'));
    pool = await startPool({ hosts: 3, memory: '2G', args: ['--update-key', fx.keyFile], env: { ISLET_LIVENESS_TIMEOUT_MS: '6000' } });
    conn = ['-s', '127.0.0.1', '-p', String(new URL(pool.masterUrl).port), '-u', 'root', '-pw', pool.rootPassword];
  });
  after(async () => {
    await pool?.stop();
    await fx?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('prints every step of every host, master first, and finishes', async () => {
    const u = await fx.custom({ name: 'XS602E031', guidance: ['restartXAPI'] });
    const up = await fx.xe([...conn, 'patch-upload', `file-name=${u.path}`]);
    assert.equal(up.code, 0, up.err);
    const run = await runOnTerminal([process.execPath, join(repoRoot(), 'bin', 'xe'), ...conn, 'pool-rolling-update', `uuid=${u.uuid}`],
      { HOME: home }, 180_000);
    const screen = run.screen.replace(/\r\n/g, '\n');
    assert.equal(run.code, 0, `${screen}\n${pool.logs(0)}`);
    const lines = screen.split('\n').map((l) => l.trim()).filter((l) => /^host\d: /.test(l));
    for (const h of ['host0', 'host1', 'host2']) {
      const mine = lines.filter((l) => l.startsWith(`${h}: `)).map((l) => l.slice(h.length + 2));
      assert.deepEqual(mine, STEPS, `${h}'s steps on the terminal:\n${screen}`);
    }
    // Master first, one host at a time: host0's steps, then host1's, then host2's.
    assert.deepEqual(lines.map((l) => l.slice(0, 5)), [...STEPS.map(() => 'host0'), ...STEPS.map(() => 'host1'), ...STEPS.map(() => 'host2')], screen);
    assert.match(screen, /Rolling update finished \([0-9a-f-]{36}\)\./);
  });

  it('pool-sync-database returns once every member holds the objects just made', async () => {
    const c = await pool.client();
    try {
      for (let i = 0; i < 5; i++) {
        await c.call('VM.create', completeRecord('VM', {
          name_label: `sync-${i}`, memory_static_max: 64 << 20, memory_dynamic_max: 64 << 20, memory_dynamic_min: 64 << 20,
          memory_static_min: 64 << 20, VCPUs_max: 1, VCPUs_at_startup: 1,
        }));
      }
      const r = await fx.xe([...conn, 'pool-sync-database']);
      assert.equal(r.code, 0, r.err);
      const vmsOn = async (i: number) => ((await c.call('host.islet_diagnostics', await pool.hostRef(i), 'db')) as Record<string, string>)['objects:VM'];
      const onMaster = await vmsOn(0);
      assert.deepEqual([await vmsOn(1), await vmsOn(2)], [onMaster, onMaster]);
    } finally {
      c.close();
    }
  });

  it('host-forget removes a member that died for good; a live one is refused', async () => {
    const c = await pool.client();
    try {
      const uuidOf = async (i: number) => String(await c.call('host.get_uuid', await pool.hostRef(i)));
      const [live, dead] = [await uuidOf(1), await uuidOf(2)];
      const refused = await fx.xe([...conn, 'host-forget', `uuid=${live}`, '--force']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.err, /This operation cannot be completed because the server is still live\./);
      const deadRef = await pool.hostRef(2);
      await pool.kill9Host(2);
      const metrics = String(await c.call('host.get_metrics', deadRef));
      await waitFor(async () => (await c.call('host_metrics.get_live', metrics)) === false, 60_000, 'host2 seen dead');
      const r = await fx.xe([...conn, 'host-forget', `uuid=${dead}`, '--force']);
      assert.equal(r.code, 0, r.err);
      const left = Object.values((await c.call('host.get_all_records')) as Record<string, { uuid: string }>).map((h) => h.uuid);
      assert.equal(left.length, 2);
      assert.ok(!left.includes(dead), 'host2 is forgotten');
    } finally {
      c.close();
    }
  });
});
