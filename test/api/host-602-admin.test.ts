/**
 * The XenServer 6.0.2 host and pool administration calls, through a real server: the
 * host's live rename (xapi's HOST_NAME_INVALID reasons), syslog forwarding to a UDP
 * server the test runs, the status-report capabilities, debug keys landing in the
 * hypervisor's console ring, power-on settings, an RRD backup written to the host's data
 * directory, pool CA certificates and CRLs with xapi's errors, HA planning with HA off, and
 * the management interface switched off last.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { isXapiError } from '../../src/client/xapi-call-error.js';
import { waitFor } from '../helpers/islet-pool.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { selfSignedCertificate } from '../helpers/self-signed-cert.js';

describe('XenServer 6.0.2 host administration', { timeout: 180_000 }, () => {
  let islet: IsletProcess;
  let c: XapiClient;
  let host: string;
  let pool: string;

  const refused = async (code: string, params: string[] | undefined, method: string, ...args: unknown[]) => {
    await assert.rejects(c.call(method, ...args), (e: unknown) => {
      assert.ok(isXapiError(e, code), `${method}: expected ${code}, got ${String(e)}`);
      if (params) assert.deepEqual((e as { params: string[] }).params, params, method);
      return true;
    });
  };

  before(async () => {
    islet = await startIslet();
    c = new XapiClient({ url: islet.url });
    await c.login('root', islet.rootPassword);
    host = ((await c.call('host.get_all')) as string[])[0]!;
    pool = ((await c.call('pool.get_all')) as string[])[0]!;
  });
  after(async () => {
    c?.close();
    await islet?.stop();
  });

  it('renames the host live, and refuses names xapi refuses', async () => {
    await refused('HOST_NAME_INVALID', ['hostname empty'], 'host.set_hostname_live', host, '');
    await refused('HOST_NAME_INVALID', ['hostname is too long'], 'host.set_hostname_live', host, 'a'.repeat(256));
    await refused('HOST_NAME_INVALID', ['hostname contains invalid characters'], 'host.set_hostname_live', host, 'bad_name');
    await refused('HOST_NAME_INVALID', ['hostname contains invalid characters'], 'host.set_hostname_live', host, '-lead');
    await c.call('host.set_hostname_live', host, 'renamed-host.example');
    assert.equal(await c.call('host.get_hostname', host), 'renamed-host.example');
    const dom0 = String(await c.call('host.get_control_domain', host));
    assert.equal(await c.call('VM.get_name_label', dom0), 'Control domain on host: renamed-host.example');
  });

  it('forwards its log to the syslog_destination in host.logging once reconfigured', async () => {
    const udp = createSocket('udp4');
    const lines: string[] = [];
    udp.on('message', (m) => lines.push(m.toString()));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    try {
      const port = udp.address().port;
      await c.call('host.set_logging', host, { syslog_destination: `127.0.0.1:${port}` });
      await c.call('host.syslog_reconfigure', host);
      await waitFor(async () => lines.some((l) => /^<\d+>islet\[\d+\]: /.test(l)), 30_000, 'a syslog datagram');
      await c.call('host.set_logging', host, {});
      await c.call('host.syslog_reconfigure', host);
    } finally {
      udp.close();
    }
  });

  it('describes its status-report capabilities as xen-bugtool does', async () => {
    const xml = String(await c.call('host.get_system_status_capabilities', host));
    assert.match(xml, /^<\?xml version="1\.0" \?>\n<system-status-capabilities>/);
    assert.match(xml, /<capability content-type="text\/plain" default-checked="yes" key="xenserver-logs" /);
    assert.match(xml, /<\/system-status-capabilities>\n$/);
  });

  it('presses debug keys on the hypervisor; dmesg_clear is not implemented, as in xapi', async () => {
    await c.call('host.send_debug_keys', host, 'q');
    assert.match(String(await c.call('host.dmesg', host)), /'q' pressed -> dumping domain/);
    await refused('NOT_IMPLEMENTED', ['dmesg_clear'], 'host.dmesg_clear', host);
  });

  it('stores power-on settings', async () => {
    await c.call('host.set_power_on_mode', host, 'wake-on-lan', {});
    assert.equal(await c.call('host.get_power_on_mode', host), 'wake-on-lan');
    await c.call('host.set_power_on_mode', host, 'DRAC', { power_on_ip: '10.0.0.9', power_on_user: 'root' });
    assert.deepEqual(await c.call('host.get_power_on_config', host), { power_on_ip: '10.0.0.9', power_on_user: 'root' });
    await c.call('host.set_power_on_mode', host, '', {});
    assert.equal(await c.call('host.get_power_on_mode', host), '');
  });

  it('backs its RRDs up to its data directory', async () => {
    const uuid = String(await c.call('host.get_uuid', host));
    const file = join(islet.dataDir, 'rrds', `${uuid}.xml`);
    // The collector samples every 5 s; a backup before the first sample writes nothing, so ask until one lands.
    await waitFor(async () => {
      await c.call('host.backup_rrds', host, 0);
      return existsSync(file);
    }, 60_000, 'the host RRD backup file');
  });

  it('keeps local caching and CPU masks under xapi\'s conditions', async () => {
    const srs = (await c.call('SR.get_all')) as string[];
    await refused('HOST_NOT_DISABLED', [], 'host.enable_local_storage_caching', host, srs[0]);
    await refused('HOSTS_FAILED_TO_DISABLE_CACHING', [host], 'pool.disable_local_storage_caching', pool);
    await refused('INVALID_FEATURE_STRING', undefined, 'host.set_cpu_features', host, 'nonsense');
    await refused('CPU_FEATURE_MASKING_NOT_SUPPORTED', undefined, 'host.set_cpu_features', host, '0098e3fd-bfebfbff-00000001-28100800');
    await c.call('host.reset_cpu_features', host);
    assert.deepEqual(await c.call('host.get_uncooperative_resident_VMs', host), []);
  });

  it('installs, lists and removes pool CA certificates and CRLs, with xapi\'s errors', async () => {
    const { cert } = await selfSignedCertificate('islet-test-ca');
    await c.call('pool.certificate_install', 'test-ca.pem', cert);
    assert.deepEqual(await c.call('pool.certificate_list'), ['test-ca.pem']);
    assert.ok(existsSync(join(islet.dataDir, 'ca', 'certificates', 'test-ca.pem')));
    await refused('CERTIFICATE_ALREADY_EXISTS', ['test-ca.pem'], 'pool.certificate_install', 'test-ca.pem', cert);
    await refused('CERTIFICATE_NAME_INVALID', ['test-ca.crt'], 'pool.certificate_install', 'test-ca.crt', cert);
    await refused('CERTIFICATE_NAME_INVALID', ['.hidden.pem'], 'pool.certificate_install', '.hidden.pem', cert);
    await refused('CERTIFICATE_CORRUPT', ['junk.pem'], 'pool.certificate_install', 'junk.pem', 'not a certificate');
    await c.call('pool.certificate_sync');
    await c.call('pool.certificate_uninstall', 'test-ca.pem');
    assert.deepEqual(await c.call('pool.certificate_list'), []);
    await refused('CERTIFICATE_DOES_NOT_EXIST', ['test-ca.pem'], 'pool.certificate_uninstall', 'test-ca.pem');

    const crl = '-----BEGIN X509 CRL-----\nMAMCAQA=\n-----END X509 CRL-----\n';
    await c.call('pool.crl_install', 'revoked.pem', crl);
    assert.deepEqual(await c.call('pool.crl_list'), ['revoked.pem']);
    await refused('CRL_CORRUPT', ['bad.pem'], 'pool.crl_install', 'bad.pem', cert);
    await refused('CRL_ALREADY_EXISTS', ['revoked.pem'], 'pool.crl_install', 'revoked.pem', crl);
    await c.call('pool.crl_uninstall', 'revoked.pem');
    await refused('CRL_DOES_NOT_EXIST', ['revoked.pem'], 'pool.crl_uninstall', 'revoked.pem');
  });

  it('plans HA failover with HA off, as xapi computes it', async () => {
    assert.equal(await c.call('pool.ha_compute_max_host_failures_to_tolerate'), 0);
    assert.equal(await c.call('pool.ha_failover_plan_exists', 0), true);
    assert.equal(await c.call('pool.ha_compute_hypothetical_max_host_failures_to_tolerate', {}), 0);
    assert.deepEqual(await c.call('pool.ha_compute_vm_failover_plan', [], []), {});
    const vm = ((await c.call('VM.get_all')) as string[])[0]!;
    await refused('INVALID_VALUE', ['ha_restart_priority', 'sometimes'], 'pool.ha_compute_hypothetical_max_host_failures_to_tolerate', { [vm]: 'sometimes' });
  });

  it('records the vSwitch controller address', async () => {
    await refused('INVALID_IP_ADDRESS_SPECIFIED', ['address'], 'pool.set_vswitch_controller', 'not-an-ip');
    await c.call('pool.set_vswitch_controller', '192.0.2.10');
    assert.equal(await c.call('pool.get_vswitch_controller', pool), '192.0.2.10');
    await c.call('pool.set_vswitch_controller', '');
  });

  it('switches its management interface off (the master alone may)', async () => {
    await refused('NOT_IN_EMERGENCY_MODE', [], 'host.local_management_reconfigure', 'eth0');
    await c.call('host.management_disable');
    const pifs = (await c.call('PIF.get_all_records')) as Record<string, { host: string; management: boolean }>;
    assert.ok(Object.values(pifs).filter((p) => p.host === host).every((p) => p.management === false));
  });
});
