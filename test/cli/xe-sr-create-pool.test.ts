/**
 * `xe sr-create` and `xe sr-probe` without `host-uuid` in a real two-host `islet pool up`:
 * `xe help sr-create` lists `host-uuid` as optional, and as XenServer's xe does, leaving it
 * out means the host xe is connected to (the master). The SR's one PBD is the master's.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { startPool, type IsletPool } from '../helpers/islet-pool.js';
import { xeOn } from '../helpers/xe.js';

describe('xe sr-create without host-uuid in a pool', { timeout: 300_000 }, () => {
  let pool: IsletPool;
  let c: XapiClient;
  let work: string;
  const xe = xeOn(() => ({ url: pool.masterUrl, password: pool.rootPassword, home: work }));

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'xe-sr-create-pool-'));
    pool = await startPool({ hosts: 2 });
    c = await pool.client();
  });
  after(async () => {
    c?.close();
    await pool?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('makes a local SR on the master, plugged there only', async () => {
    assert.equal(((await c.call('host.get_all')) as string[]).length, 2);
    const uuid = await xe.ok('sr-create', 'name-label=on master', 'type=file', `device-config:path=${join(work, 'sr')}`);
    const sr = String(await c.call('SR.get_by_uuid', uuid));
    const pbds = (await c.call('SR.get_PBDs', sr)) as string[];
    assert.equal(pbds.length, 1);
    const [poolRef] = (await c.call('pool.get_all')) as string[];
    assert.equal(await c.call('PBD.get_host', pbds[0]), await c.call('pool.get_master', poolRef));
    assert.equal(await c.call('PBD.get_currently_attached', pbds[0]), true);
  });

  it('sr-probe without host-uuid asks the master', async () => {
    const r = await xe('sr-probe', 'type=file', `device-config:path=${join(work, 'sr')}`);
    assert.doesNotMatch(r.out + r.err, /internal error|host-uuid/i, r.out + r.err);
  });
});
