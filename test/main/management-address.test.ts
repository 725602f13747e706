/**
 * The management address on a host whose API listens on every address (`--listen
 * 0.0.0.0:PORT`): the management interface may take any address the machine has, and
 * `host.address` follows it, as on XenServer; clients reach the host there; an address the
 * machine lacks is refused with nothing changed; and the choice survives a toolstack restart.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { startIsletOnFreePort, type IsletProcess } from '../helpers/islet-server.js';
import { runXe } from '../helpers/xe.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '0.0.0.0', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

describe('management address on a wildcard listener', { timeout: 120_000 }, () => {
  let islet: IsletProcess;
  let c: XapiClient;

  const login = async (host: string) => {
    const client = new XapiClient({ url: `http://${host}:${islet.port}` });
    await client.login('root', islet.rootPassword);
    return client;
  };

  before(async () => {
    islet = await startIsletOnFreePort((port) => ({ args: ['--listen', `0.0.0.0:${port}`] }), freePort);
    c = await login('127.0.0.1');
  });
  after(async () => {
    c?.close();
    await islet?.stop();
  });

  it('moves host.address with the management interface to an address the machine has, and keeps it across a restart', async () => {
    const host = ((await c.call('host.get_all')) as string[])[0]!;
    const pif = String(await c.call('host.get_management_interface', host));
    await assert.rejects(c.call('PIF.reconfigure_ip', pif, 'Static', '192.0.2.77', '255.255.255.0', '', ''),
      (e: any) => e.code === 'PIF_CONFIGURATION_ERROR');
    assert.notEqual(await c.call('host.get_address', host), '192.0.2.77');

    await c.call('PIF.reconfigure_ip', pif, 'Static', '127.0.0.2', '255.0.0.0', '', '');
    assert.equal(await c.call('host.get_address', host), '127.0.0.2');
    assert.equal(await c.call('PIF.get_IP', pif), '127.0.0.2');
    const r = await runXe(['-s', '127.0.0.2', '-p', String(islet.port), '-pw', islet.rootPassword, 'host-list', 'params=address']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /address \( RO\)\s*: 127\.0\.0\.2/);

    c.close();
    await islet.kill9();
    islet = await islet.restart();
    c = await login('127.0.0.2');
    assert.equal(await c.call('host.get_address', host), '127.0.0.2', 'the management address outlives the restart');
    assert.equal(await c.call('PIF.get_ip_configuration_mode', pif), 'Static');
  });
});
