/**
 * PIF.db_introduce, PIF.db_forget and PIF.set_disallow_unplug on a real host: records
 * written and removed in the database only, and the flag PIF.unplug then honours.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { type IsletProcess, startIslet } from '../helpers/islet-server.js';

const PW = 'pif-db-pw';

describe('PIF database-only calls', () => {
  let islet: IsletProcess;
  let api: XapiClient;

  before(async () => {
    islet = await startIslet({ rootPassword: PW, args: ['--spawn-hypervisor', 'false'], env: { ISLET_NICS: 'eth0,eth1' } });
    api = new XapiClient({ url: islet.url });
    await api.login('root', PW);
  });
  after(async () => {
    await api?.logout().catch(() => undefined);
    api?.close();
    await islet?.stop();
  });

  const call = (m: string, ...a: unknown[]) => api.call(m, ...a) as Promise<any>;
  const failsWith = (p: Promise<unknown>, code: string, params?: unknown[]) => assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, String(e));
    if (params) assert.deepEqual(e.params, params);
    return true;
  });

  it('introduces a record as given, unattached, and forgets it', async () => {
    const [host] = await call('host.get_all');
    const [network] = await call('network.get_all');
    const before = (await call('PIF.get_all')).length;
    // The arguments a XenServer 6.0.2 client sends: through primary_address_type.
    const pif = String(await call('PIF.db_introduce', 'eth9', network, host, 'aa:bb:cc:dd:ee:09', 1500, -1, true, 'Static',
      '10.9.9.9', '255.255.255.0', '10.9.9.1', '10.9.9.2', 'OpaqueRef:NULL', 'OpaqueRef:NULL', false, { k: 'v' }, true,
      'None', [], '', 'IPv4'));
    const r = await call('PIF.get_record', pif);
    assert.equal(r.device, 'eth9');
    assert.equal(r.host, host);
    assert.equal(r.IP, '10.9.9.9');
    assert.equal(r.ip_configuration_mode, 'Static');
    assert.equal(r.currently_attached, false);
    assert.equal(r.disallow_unplug, true);
    assert.equal(r.managed, true);
    assert.deepEqual(r.other_config, { k: 'v' });
    assert.equal((await call('PIF.get_all')).length, before + 1);
    await failsWith(call('PIF.db_introduce', 'eth8', network, 'OpaqueRef:nohost', '', 1500, -1, true, 'None', '', '', '', '',
      'OpaqueRef:NULL', 'OpaqueRef:NULL', false, {}), 'HANDLE_INVALID', ['host', 'OpaqueRef:nohost']);
    await call('PIF.db_forget', pif);
    await failsWith(call('PIF.get_record', pif), 'HANDLE_INVALID');
    await failsWith(call('PIF.db_forget', pif), 'HANDLE_INVALID', ['PIF', pif]);
  });

  it('sets disallow_unplug, which PIF.unplug then honours', async () => {
    const pifs = await call('PIF.get_all_records');
    const [ref] = Object.entries(pifs).find(([, r]: [string, any]) => !r.management) ?? [];
    assert.ok(ref, 'a PIF that is not the management interface');
    await call('PIF.set_disallow_unplug', ref, true);
    assert.equal(await call('PIF.get_disallow_unplug', ref), true);
    await failsWith(call('PIF.unplug', ref), 'PIF_DOES_NOT_ALLOW_UNPLUG', [ref]);
    await call('PIF.set_disallow_unplug', ref, false);
    await call('PIF.unplug', ref);
    assert.equal(await call('PIF.get_currently_attached', ref), false);
    await call('PIF.plug', ref);
  });
});
