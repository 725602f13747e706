/**
 * Xen Orchestra's client (npm `xen-api`, default settings) connected to a pool's master
 * while the master's toolstack restarts (`xe-toolstack-restart`): the client must log in
 * again, refetch every object and follow events again as soon as the new toolstack serves,
 * rather than sitting out its 60 s retry delay after a broken long poll. The time from the
 * new toolstack serving to the client's first event batch is printed (the goal is < 2 s on
 * an idle machine); the wait for it gives up at 15 s, far below the client's 60 s back-off.
 * Every object comes back: per class, the refs the client holds after the restart are
 * exactly those it held before and exactly those the server lists, except sessions and
 * tasks, which a toolstack restart replaces (the old ones die with the old process).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPool, type IsletPool } from '../helpers/islet-pool.js';
import { repoRoot } from '../helpers/repo-root.js';
import { connectXenOrchestra } from '../helpers/xen-orchestra.js';

/** Resolves when `pred` holds for an object the client updates, or fails after `ms`. */
function seen(xapi: any, pred: (o: any) => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onUpdate = (objects: Record<string, any>) => {
      if (!Object.values(objects).some(pred)) return;
      clearTimeout(timer);
      xapi.objects.removeListener('update', onUpdate);
      resolve();
    };
    const timer = setTimeout(() => {
      xapi.objects.removeListener('update', onUpdate);
      reject(new Error(`${what}: not seen within ${ms} ms`));
    }, ms);
    xapi.objects.on('update', onUpdate);
  });
}

/** Classes whose objects a toolstack restart legitimately replaces. */
const REPLACED = new Set(['session', 'task']);

/** The refs the client holds, by class (the client keys objects by uuid, so count by ref). */
function refsByClass(xapi: any): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const o of Object.values(xapi.objects.all) as any[]) {
    if (REPLACED.has(o.$type)) continue;
    out.set(o.$type, [...(out.get(o.$type) ?? []), String(o.$ref)]);
  }
  for (const refs of out.values()) refs.sort();
  return out;
}

describe('Xen Orchestra client across a master toolstack restart', { timeout: 300_000 }, () => {
  let pool: IsletPool;
  let xapi: any;
  before(async () => {
    pool = await startPool({ hosts: 1 });
    xapi = await connectXenOrchestra(pool.masterUrl, pool.rootPassword);
  });
  after(async () => {
    await xapi?.disconnect();
    await pool?.stop();
  });

  it('logs in again, refetches every object and follows events again at once', async (t) => {
    const before = refsByClass(xapi);
    assert.ok(before.has('host') && before.has('VM') && before.has('SR'), `classes held: ${[...before.keys()].join(' ')}`);
    // The client's first event batch after the new toolstack serves (the tool's `done.`).
    let serving = 0;
    let back = 0;
    let onBack: () => void = () => undefined;
    const fetched = new Promise<void>((resolve) => { onBack = resolve; });
    const onSuccess = () => {
      if (serving === 0 || back !== 0) return;
      back = performance.now();
      onBack();
    };
    xapi.on('eventFetchingSuccess', onSuccess);
    const tool = join(repoRoot(), 'bin', 'xe-toolstack-restart');
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(process.execPath, [tool, '--data-dir', pool.hosts[0]!.dataDir], { timeout: 120_000 }, (e, stdout) => (e ? reject(e) : resolve(stdout)));
      child.stdout!.on('data', (d: Buffer) => { if (/done\./.test(d.toString())) serving = performance.now(); });
    });
    assert.match(out, /done\./);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([fetched, new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('the client did not fetch events again within 15 s')), 15_000);
    })]).finally(() => clearTimeout(timer));
    xapi.removeListener('eventFetchingSuccess', onSuccess);
    t.diagnostic(`first event batch ${(back - serving).toFixed(0)} ms after the new toolstack served`);
    const label = `after-restart-${Date.now()}`;
    const arrived = seen(xapi, (o) => o.$type === 'host' && o.name_label === label, 5000, 'a change made after the restart');
    const c = await pool.client();
    try {
      await c.call('host.set_name_label', await pool.hostRef(0), label);
      await arrived;
      const after = refsByClass(xapi);
      t.diagnostic(`objects by class after the restart: ${[...after].map(([k, v]) => `${k} ${v.length}`).join(', ')}`);
      assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), 'the classes the client holds');
      for (const [cls, refs] of before) {
        assert.deepEqual(after.get(cls), refs, `${cls}: the client's refs after the restart are those before it`);
        const server = Object.keys((await c.call(`${cls}.get_all_records`)) as Record<string, unknown>).sort();
        assert.deepEqual(after.get(cls), server, `${cls}: the client's refs are the server's`);
      }
    } finally {
      c.close();
    }
    assert.equal(xapi.status, 'connected');
  });
});
