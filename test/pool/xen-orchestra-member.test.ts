/**
 * Xen Orchestra's own XenAPI client (npm `xen-api`) pointed at a pool member: the member
 * answers HOST_IS_SLAVE with the master's address, the client swaps the hostname (keeping
 * its port, as XO does) and ends up connected to the master, with the whole pool loaded.
 * The hosts listen on 127.0.0.1-3 on one port, as XenServer hosts share port 443.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
// @ts-expect-error xen-api ships no types
import { createClient } from 'xen-api';
import { startPool, type IsletPool } from '../helpers/islet-pool.js';

describe('Xen Orchestra xen-api client pointed at a member', { timeout: 300_000 }, () => {
  let pool: IsletPool;
  let xapi: any;
  before(async () => {
    pool = await startPool({ hosts: 3, addresses: ['127.0.0.1', '127.0.0.2', '127.0.0.3'] });
  });
  after(async () => {
    await xapi?.disconnect();
    await pool?.stop();
  });

  it('ends up connected to the master', async () => {
    const member = pool.hosts[2]!;
    assert.equal(member.address, '127.0.0.3');
    assert.equal(member.port, pool.hosts[0]!.port, 'hosts share one port');
    xapi = createClient({
      url: `https://${member.address}:${member.port}`,
      auth: { user: 'root', password: pool.rootPassword },
      allowUnauthorized: true,
      debounce: 0,
    });
    await xapi.connect();
    await xapi.objectsFetched;
    assert.equal(xapi._url.hostname, '127.0.0.1', 'the client moved to the master');
    const all = Object.values(xapi.objects.all) as any[];
    const hosts = all.filter((o) => o.$type === 'host');
    assert.equal(hosts.length, 3);
    const master = xapi.getObjectByRef(xapi.pool.master);
    assert.equal(master.address, '127.0.0.1');
    assert.deepEqual(hosts.map((h) => h.address).sort(), ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  });
});
