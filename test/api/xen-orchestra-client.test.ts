/**
 * Xen Orchestra's own XenAPI client (npm `xen-api`) against a real `islet server`: it
 * connects (over TLS, as XO does), loads every object through its event.from cache, and
 * sees a change made with `xe` while its event.from long poll waits: the poll is woken by
 * the change (how soon is printed; the test gives up at 30 s, half the poll's timeout).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { repoRoot } from '../helpers/repo-root.js';
import { connectXenOrchestra } from '../helpers/xen-orchestra.js';

const run = promisify(execFile);

describe('Xen Orchestra xen-api client', () => {
  let srv: IsletProcess;
  let xapi: any;
  before(async () => {
    srv = await startIslet();
    xapi = await connectXenOrchestra(`https://127.0.0.1:${srv.port}`, srv.rootPassword);
  });
  after(async () => {
    await xapi?.disconnect();
    await srv?.stop();
  });

  it('loads the pool, its master and every object', async () => {
    const all = Object.values(xapi.objects.all) as any[];
    const types = new Set(all.map((o) => o.$type));
    for (const t of ['pool', 'host', 'host_metrics', 'role']) assert.ok(types.has(t), `missing ${t}: ${[...types]}`);
    assert.ok(xapi.pool, 'xapi.pool is set');
    const master = xapi.getObjectByRef(xapi.pool.master);
    assert.equal(master.$type, 'host');
    assert.equal(master.software_version.product_brand, 'XenServer');
  });

  it('sees a change made with xe while its long poll waits (woken, not timed out)', async (t) => {
    const host = Object.values(xapi.objects.all).find((o: any) => o.$type === 'host') as any;
    const label = `renamed-${Date.now()}`;
    const seen = new Promise<number>((resolve) => {
      const onUpdate = (objects: Record<string, any>) => {
        for (const o of Object.values(objects)) {
          if (o.$type === 'host' && o.name_label === label) {
            xapi.objects.removeListener('update', onUpdate);
            resolve(performance.now());
          }
        }
      };
      xapi.objects.on('update', onUpdate);
    });
    const xe = join(repoRoot(), 'bin', 'xe');
    await run(process.execPath, [xe, '-s', '127.0.0.1', '-p', String(srv.port), '-u', 'root', '-pw', srv.rootPassword,
      'host-param-set', `uuid=${host.uuid}`, `name-label=${label}`]);
    const changed = performance.now();
    // The client long-polls event.from for 60 s: a change seen well within that came by the
    // poll being woken, not by its timeout. How soon is printed, not asserted (a loaded
    // machine is slow without anything being wrong).
    let timer: NodeJS.Timeout | undefined;
    const at = await Promise.race([seen, new Promise<number>((r) => { timer = setTimeout(() => r(-1), 30_000); })]).finally(() => clearTimeout(timer));
    assert.ok(at > 0, 'the change did not reach the client within 30 s: its long poll was not woken');
    t.diagnostic(`the change reached the client ${(at - changed).toFixed(0)} ms after xe ended`);
  });
});
