/**
 * The XenServer 6.0.2 calls a pool here answers as a 6.0.2 pool without the feature set
 * up answers them, driven against a real host: one row per call, with xapi's error code
 * and parameters (or its silent success, for the disable_* of what is not enabled).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { isXapiError } from '../../src/client/xapi-call-error.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';

interface Row { method: string; args: (r: Refs) => unknown[]; code?: string; params?: (r: Refs) => string[] }
interface Refs { host: string; pool: string; sr: string; vdi: string; vm: string }

const ROWS: Row[] = [
  { method: 'pool.initialize_wlb', args: () => ['wlb.example', 'u', 'p', 'root', 'pw'], code: 'WLB_URL_INVALID', params: () => ['wlb.example'] },
  { method: 'pool.initialize_wlb', args: () => ['127.0.0.1:1', 'u', 'p', 'root', 'pw'], code: 'WLB_CONNECTION_REFUSED', params: () => [] },
  { method: 'pool.deconfigure_wlb', args: () => [], code: 'WLB_NOT_INITIALIZED', params: () => [] },
  { method: 'pool.send_wlb_configuration', args: () => [{ a: 'b' }], code: 'WLB_NOT_INITIALIZED', params: () => [] },
  { method: 'pool.retrieve_wlb_configuration', args: () => [], code: 'WLB_NOT_INITIALIZED', params: () => [] },
  { method: 'pool.retrieve_wlb_recommendations', args: () => [], code: 'WLB_NOT_INITIALIZED', params: () => [] },
  { method: 'VM.retrieve_wlb_recommendations', args: (r) => [r.vm], code: 'WLB_NOT_INITIALIZED', params: () => [] },
  { method: 'host.retrieve_wlb_evacuate_recommendations', args: (r) => [r.host], code: 'WLB_NOT_INITIALIZED', params: () => [] },
  { method: 'host.enable_external_auth', args: (r) => [r.host, {}, 'example.com', 'AD'], code: 'AUTH_UNKNOWN_TYPE', params: () => ['AD'] },
  { method: 'host.disable_external_auth', args: (r) => [r.host, {}] },
  { method: 'pool.enable_external_auth', args: (r) => [r.pool, {}, 'example.com', 'AD'], code: 'AUTH_UNKNOWN_TYPE', params: () => ['AD'] },
  { method: 'pool.disable_external_auth', args: (r) => [r.pool, {}] },
  { method: 'pool.detect_nonhomogeneous_external_auth', args: (r) => [r.pool] },
  { method: 'auth.get_subject_identifier', args: () => ['EXAMPLE\\someone'], code: 'AUTH_IS_DISABLED', params: () => [] },
  { method: 'auth.get_subject_information_from_identifier', args: () => ['S-1-5-21-1'], code: 'AUTH_IS_DISABLED', params: () => [] },
  { method: 'auth.get_group_membership', args: () => ['S-1-5-21-1'], code: 'AUTH_IS_DISABLED', params: () => [] },
  { method: 'pool.ha_prevent_restarts_for', args: () => [60], code: 'HA_NOT_ENABLED', params: () => [] },
  { method: 'host.emergency_ha_disable', args: () => [false], code: 'HA_NOT_ENABLED', params: () => [] },
  { method: 'pool.enable_redo_log', args: (r) => [r.sr], code: 'CANNOT_ENABLE_REDO_LOG', params: () => ['failed to make VDI static.'] },
  { method: 'pool.disable_redo_log', args: () => [] },
  { method: 'pool.test_archive_target', args: (r) => [r.pool, { location: '//files/backup' }], code: 'XENAPI_PLUGIN_FAILURE',
    params: () => ['fault', 'VMPP_ARCHIVE_TARGET_MOUNT_FAILED', 'cannot mount share //files/backup'] },
  { method: 'pool.enable_local_storage_caching', args: (r) => [r.pool], code: 'HOSTS_FAILED_TO_ENABLE_CACHING', params: (r) => [r.host] },
  { method: 'SR.assert_can_host_ha_statefile', args: (r) => [r.sr], code: 'SR_OPERATION_NOT_SUPPORTED', params: (r) => [r.sr] },
  { method: 'SR.assert_supports_database_replication', args: (r) => [r.sr], code: 'SR_OPERATION_NOT_SUPPORTED', params: (r) => [r.sr] },
  { method: 'SR.enable_database_replication', args: (r) => [r.sr], code: 'SR_OPERATION_NOT_SUPPORTED', params: (r) => [r.sr] },
  { method: 'SR.disable_database_replication', args: (r) => [r.sr] },
  { method: 'SR.make', args: (r) => [r.host, {}, 0, 'x', '', 'file', '', {}], code: 'MESSAGE_DEPRECATED', params: () => [] },
  { method: 'VDI.open_database', args: (r) => [r.vdi], code: 'VDI_INCOMPATIBLE_TYPE', params: (r) => [r.vdi, 'User'] },
  { method: 'VDI.read_database_pool_uuid', args: (r) => [r.vdi] },
  { method: 'host.sync_data', args: (r) => [r.host] },
  { method: 'host.refresh_pack_info', args: (r) => [r.host] },
  { method: 'host.bugreport_upload', args: (r) => [r.host, '', {}], code: 'INVALID_VALUE', params: () => ['url', ''] },
];

describe('6.0.2 calls refused as XenServer refuses them', { timeout: 120_000 }, () => {
  let islet: IsletProcess;
  let c: XapiClient;
  let refs: Refs;

  before(async () => {
    islet = await startIslet();
    c = new XapiClient({ url: islet.url });
    await c.login('root', islet.rootPassword);
    const host = ((await c.call('host.get_all')) as string[])[0]!;
    const pool = ((await c.call('pool.get_all')) as string[])[0]!;
    const srs = (await c.call('SR.get_all_records')) as Record<string, { type: string }>;
    const sr = Object.entries(srs).find(([, r]) => r.type === 'file')![0];
    const vdi = String(await c.call('VDI.create', { SR: sr, name_label: 'dr probe', virtual_size: 1048576, type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] }));
    const vm = ((await c.call('VM.get_all')) as string[])[0]!;
    refs = { host, pool, sr, vdi, vm };
  });
  after(async () => {
    c?.close();
    await islet?.stop();
  });

  for (const row of ROWS) {
    it(`${row.method}${row.code ? ` → ${row.code}` : ' succeeds'}`, async () => {
      if (!row.code) {
        await c.call(row.method, ...row.args(refs));
        return;
      }
      await assert.rejects(c.call(row.method, ...row.args(refs)), (e: unknown) => {
        assert.ok(isXapiError(e, row.code!), `expected ${row.code}, got ${String(e)}`);
        assert.deepEqual((e as { params: string[] }).params, row.params!(refs));
        return true;
      });
    });
  }
});
