/**
 * A host keeps what is its own when it joins a pool, as on XenServer: its control domain,
 * its CPUs and its "Local storage" SR with every disk in it (names and sizes intact) are in
 * the pool afterwards; ejecting it takes them away again, leaving the master's own alone.
 * Two real servers on loopback, joined with pool.join.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { waitFor } from '../helpers/islet-pool.js';

type Rec = Record<string, unknown>;

describe('joining keeps the host\'s own objects', { timeout: 300_000 }, () => {
  let a: IsletProcess;
  let b: IsletProcess;
  const nproc = Number(execFileSync('nproc', ['--all']).toString().trim());

  before(async () => {
    [a, b] = await Promise.all([startIslet({ rootPassword: 'pw' }), startIslet({ rootPassword: 'pw' })]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const client = async (h: IsletProcess) => {
    const c = new XapiClient({ url: h.url });
    await c.login('root', 'pw');
    return c;
  };
  const records = async (c: XapiClient, cls: string) => Object.entries((await c.call(`${cls}.get_all_records`)) as Record<string, Rec>);

  it('carries the control domain, CPUs and local SR with its disks into the pool, and takes them out on eject', async () => {
    const cb = await client(b);
    const bHost = ((await cb.call('host.get_all')) as string[])[0]!;
    const bDom0 = String(await cb.call('host.get_control_domain', bHost));
    const bSr = (await records(cb, 'SR')).find(([, r]) => r.name_label === 'Local storage')![0];
    const vdi = String(await cb.call('VDI.create', {
      name_label: 'kept on b', name_description: 'made before the join', SR: bSr, virtual_size: 64 * 1024 * 1024,
      type: 'user', sharable: false, read_only: false, other_config: {}, sm_config: {}, xenstore_data: {}, tags: [],
    }));
    const vdiUuid = String(await cb.call('VDI.get_uuid', vdi));
    await cb.call('pool.join', `127.0.0.1:${a.port}`, 'root', 'pw');
    cb.close();

    const ca = await client(a);
    try {
      await waitFor(async () => ((await ca.call('host.get_all')) as string[]).length === 2, 30_000, 'two hosts');
      const hosts = (await ca.call('host.get_all')) as string[];
      assert.ok(hosts.includes(bHost));
      const dom0s = (await records(ca, 'VM')).filter(([, r]) => r.is_control_domain === true);
      assert.equal(dom0s.length, 2, 'one control domain per host');
      for (const h of hosts) {
        const d = String(await ca.call('host.get_control_domain', h));
        assert.ok(dom0s.some(([ref, r]) => ref === d && r.resident_on === h), `host ${h} has its own control domain`);
      }
      assert.equal(String(await ca.call('host.get_control_domain', bHost)), bDom0);
      assert.equal(((await ca.call('host.get_host_CPUs', bHost)) as string[]).length, nproc);
      const pifs = await records(ca, 'PIF');
      const nets = await records(ca, 'network');
      assert.equal(nets.filter(([, n]) => n.bridge === 'xenbr0').length, 1, 'one pool-wide management network');
      const xenbr0 = nets.find(([, n]) => n.bridge === 'xenbr0')![0];
      for (const h of hosts) assert.ok(pifs.some(([, p]) => p.host === h && p.management === true && p.network === xenbr0), `${h} has its management PIF on xenbr0`);

      const locals = (await records(ca, 'SR')).filter(([, r]) => r.name_label === 'Local storage');
      assert.equal(locals.length, 2, 'every host keeps its local SR');
      const pbds = await records(ca, 'PBD');
      for (const h of hosts) assert.ok(locals.some(([sr]) => pbds.some(([, p]) => p.SR === sr && p.host === h)), `a local SR plugged on ${h}`);
      const kept = String(await ca.call('VDI.get_by_uuid', vdiUuid));
      assert.equal(await ca.call('VDI.get_name_label', kept), 'kept on b');
      assert.equal(await ca.call('VDI.get_SR', kept), bSr);
      assert.equal(Number(await ca.call('VDI.get_virtual_size', kept)), 64 * 1024 * 1024);

      await ca.call('pool.eject', bHost);
      await waitFor(async () => ((await ca.call('host.get_all')) as string[]).length === 1, 30_000, 'one host after eject');
      assert.equal((await records(ca, 'VM')).filter(([, r]) => r.is_control_domain === true).length, 1);
      assert.equal((await records(ca, 'SR')).filter(([, r]) => r.name_label === 'Local storage').length, 1);
      assert.equal((await records(ca, 'host_cpu')).length, nproc);
      assert.equal((await records(ca, 'PIF')).length, 1);
      await assert.rejects(ca.call('VDI.get_by_uuid', vdiUuid));
    } finally {
      ca.close();
    }
  });
});
