/**
 * @module
 * The commands of `host-602-command-specs.ts`: each reads its parameters as XenServer 6.0.2's
 * xe does and makes the matching XenAPI call, on the hosts selected where the command takes
 * host selectors. `pool-certificate-install` and `pool-crl-install` read the file here and
 * install it under its base name, as xe does.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { mapParam, refByUuid } from './storage-params.js';

const p = (ctx: CommandContext, name: string) => getParam(ctx.params, name)!;

async function onSelectedHosts(ctx: CommandContext, fn: (host: string) => Promise<void>, ignore: string[] = []): Promise<void> {
  const sel = await selectObjects(ctx, 'host', { ignore });
  await forEachSelected(ctx, sel, async (row) => fn(row.ref));
}

/** The host named by uuid=, or the pool's master when none is. */
async function hostOrMaster(ctx: CommandContext): Promise<string> {
  const uuid = getParam(ctx.params, 'uuid');
  if (uuid) return refByUuid(ctx, 'host', uuid);
  const [pool] = (await ctx.call('pool.get_all')) as string[];
  return String(await ctx.call('pool.get_master', pool));
}

const thePool = async (ctx: CommandContext) => ((await ctx.call('pool.get_all')) as string[])[0]!;

function readFileParam(ctx: CommandContext): [string, string] {
  const file = p(ctx, 'filename');
  try {
    return [basename(file), readFileSync(file, 'utf8')];
  } catch {
    throw new CliFailure(`Failed to read file ${file}`);
  }
}

export async function run(ctx: CommandContext): Promise<void> {
  const c = ctx.client;
  switch (ctx.cmd) {
    case 'host-set-hostname-live':
      await c.callAsync('host.set_hostname_live', await refByUuid(ctx, 'host', p(ctx, 'host-uuid')), p(ctx, 'host-name'));
      return;
    case 'host-syslog-reconfigure':
      await c.callAsync('host.syslog_reconfigure', await refByUuid(ctx, 'host', p(ctx, 'host-uuid')));
      return;
    case 'host-management-disable': await ctx.call('host.management_disable'); return;
    case 'host-emergency-management-reconfigure': await ctx.call('host.local_management_reconfigure', p(ctx, 'interface')); return;
    case 'host-set-power-on-mode': {
      const config = mapParam(ctx.params, 'power-on-config');
      return onSelectedHosts(ctx, async (h) => { await c.callAsync('host.set_power_on_mode', h, p(ctx, 'power-on-mode'), config); }, ['power-on-mode', 'power-on-config']);
    }
    case 'host-send-debug-keys':
      await c.callAsync('host.send_debug_keys', await refByUuid(ctx, 'host', p(ctx, 'host-uuid')), p(ctx, 'keys'));
      return;
    case 'host-sync-data': return onSelectedHosts(ctx, async (h) => { await c.callAsync('host.sync_data', h); });
    case 'host-enable-local-storage-caching': {
      const sr = await refByUuid(ctx, 'SR', p(ctx, 'sr-uuid'));
      return onSelectedHosts(ctx, async (h) => { await c.callAsync('host.enable_local_storage_caching', h, sr); }, ['sr-uuid']);
    }
    case 'host-disable-local-storage-caching': return onSelectedHosts(ctx, async (h) => { await c.callAsync('host.disable_local_storage_caching', h); });
    case 'pool-enable-local-storage-caching':
      await c.callAsync('pool.enable_local_storage_caching', await refByUuid(ctx, 'pool', p(ctx, 'uuid')));
      return;
    case 'pool-disable-local-storage-caching':
      await c.callAsync('pool.disable_local_storage_caching', await refByUuid(ctx, 'pool', p(ctx, 'uuid')));
      return;
    case 'host-get-system-status-capabilities':
      return onSelectedHosts(ctx, async (h) => { ctx.printer.msg(String(await c.callAsync('host.get_system_status_capabilities', h)).replace(/\n$/, '')); });
    case 'host-bugreport-upload': {
      const options: Record<string, string> = {};
      const proxy = getParam(ctx.params, 'http_proxy');
      if (proxy) options.http_proxy = proxy;
      return onSelectedHosts(ctx, async (h) => { await c.callAsync('host.bugreport_upload', h, getParam(ctx.params, 'url') ?? '', options); }, ['url', 'http_proxy']);
    }
    case 'host-set-cpu-features': await c.callAsync('host.set_cpu_features', await hostOrMaster(ctx), p(ctx, 'features')); return;
    case 'host-reset-cpu-features': await c.callAsync('host.reset_cpu_features', await hostOrMaster(ctx)); return;
    case 'host-emergency-ha-disable': await ctx.call('host.emergency_ha_disable', false); return;
    case 'host-retrieve-wlb-evacuate-recommendations': {
      const plan = (await c.callAsync('host.retrieve_wlb_evacuate_recommendations', await refByUuid(ctx, 'host', p(ctx, 'uuid')))) as Record<string, string[]>;
      const rows: Array<[string, string]> = [];
      for (const [vm, advice] of Object.entries(plan ?? {})) rows.push([String(await ctx.call('VM.get_uuid', vm)), advice.join(' ')]);
      ctx.printer.table([rows]);
      return;
    }
    case 'pool-certificate-install': await c.callAsync('pool.certificate_install', ...readFileParam(ctx)); return;
    case 'pool-certificate-uninstall': await c.callAsync('pool.certificate_uninstall', p(ctx, 'name')); return;
    case 'pool-certificate-list': ctx.printer.list((await c.callAsync('pool.certificate_list')) as string[]); return;
    case 'pool-certificate-sync': await c.callAsync('pool.certificate_sync'); return;
    case 'pool-crl-install': await c.callAsync('pool.crl_install', ...readFileParam(ctx)); return;
    case 'pool-crl-uninstall': await c.callAsync('pool.crl_uninstall', p(ctx, 'name')); return;
    case 'pool-crl-list': ctx.printer.list((await c.callAsync('pool.crl_list')) as string[]); return;
    case 'pool-initialize-wlb':
      await c.callAsync('pool.initialize_wlb', p(ctx, 'wlb_url'), p(ctx, 'wlb_username'), p(ctx, 'wlb_password'), p(ctx, 'xenserver_username'), p(ctx, 'xenserver_password'));
      return;
    case 'pool-deconfigure-wlb': await c.callAsync('pool.deconfigure_wlb'); return;
    case 'pool-send-wlb-configuration': await c.callAsync('pool.send_wlb_configuration', mapParam(ctx.params, 'config')); return;
    case 'pool-retrieve-wlb-configuration': {
      const config = (await c.callAsync('pool.retrieve_wlb_configuration')) as Record<string, string>;
      ctx.printer.table([Object.entries(config ?? {}).map(([k, v]) => [k, String(v)] as [string, string])]);
      return;
    }
    case 'pool-retrieve-wlb-recommendations': {
      const recs = (await c.callAsync('pool.retrieve_wlb_recommendations')) as Record<string, string[]>;
      const rows: Array<[string, string]> = [];
      for (const [vm, advice] of Object.entries(recs ?? {})) rows.push([String(await ctx.call('VM.get_uuid', vm)), advice.join(' ')]);
      ctx.printer.table([rows]);
      return;
    }
    case 'pool-send-test-post':
      ctx.printer.msg(String(await c.callAsync('pool.send_test_post', p(ctx, 'dest-host'), Number(p(ctx, 'dest-port')), p(ctx, 'body'))));
      return;
    case 'pool-enable-external-auth': {
      const pool = getParam(ctx.params, 'uuid') ? await refByUuid(ctx, 'pool', p(ctx, 'uuid')) : await thePool(ctx);
      await ctx.call('pool.enable_external_auth', pool, mapParam(ctx.params, 'config'), p(ctx, 'service-name'), p(ctx, 'auth-type'));
      return;
    }
    case 'pool-disable-external-auth': {
      const pool = getParam(ctx.params, 'uuid') ? await refByUuid(ctx, 'pool', p(ctx, 'uuid')) : await thePool(ctx);
      await ctx.call('pool.disable_external_auth', pool, mapParam(ctx.params, 'config'));
      return;
    }
    case 'pool-enable-redo-log': await c.callAsync('pool.enable_redo_log', await refByUuid(ctx, 'SR', p(ctx, 'sr-uuid'))); return;
    case 'pool-disable-redo-log': await c.callAsync('pool.disable_redo_log'); return;
    case 'pool-set-vswitch-controller': await c.callAsync('pool.set_vswitch_controller', p(ctx, 'address')); return;
  }
}
