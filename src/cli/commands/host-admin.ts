/**
 * @module
 * Host and pool administration commands: `host-dmesg <host-selectors>` (each host's
 * hypervisor console ring, printed as it is), `host-forget uuid= [--force]` (remove a dead
 * host from the pool database, after xe's four warnings and a confirmation unless forced),
 * `pool-sync-database` (write the database out on every host now),
 * `user-password-change new= [old=]` (the logged-in user's own password),
 * `host-call-plugin host-uuid= plugin= fn= [args:<key>=…]` (prints the plugin's answer;
 * `args:<key>:file=<path>` passes a local file's content under `key`), and
 * `pool-ha-enable [heartbeat-sr-uuids=a,b] [ha-config:<key>=…]` / `pool-ha-disable`.
 */
import { readFileSync } from 'node:fs';
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { userSaysYes } from '../user-says-yes.js';
import { boolParam, mapParam, refByUuid } from './storage-params.js';

async function hostForget(ctx: CommandContext): Promise<void> {
  const host = await refByUuid(ctx, 'host', getParam(ctx.params, 'uuid')!);
  if (!boolParam(ctx.params, 'force')) {
    ctx.printer.msg("WARNING: A host should only be forgotten if it is physically unrecoverable;");
    ctx.printer.msg("WARNING: if possible, Hosts should be 'ejected' from the Pool instead.");
    ctx.printer.msg('WARNING: Once a host has been forgotten it will have to be re-installed.');
    ctx.printer.msg('WARNING: This operation is irreversible.');
    if (!(await userSaysYes(ctx))) return;
  }
  await ctx.client.callAsync('host.destroy', host);
}

/** The plugin's arguments: `args:k=v` as given, `args:k:file=path` as that file's content under `k`. */
function pluginArgs(ctx: CommandContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(mapParam(ctx.params, 'args'))) {
    if (!k.endsWith(':file')) {
      out[k] = v;
      continue;
    }
    try {
      out[k.slice(0, -':file'.length)] = readFileSync(v, 'utf8');
    } catch {
      throw new CliFailure(`Failed to read file ${v}`);
    }
  }
  return out;
}

async function hostCallPlugin(ctx: CommandContext): Promise<void> {
  const host = await refByUuid(ctx, 'host', getParam(ctx.params, 'host-uuid')!);
  const args = pluginArgs(ctx);
  ctx.printer.list([String(await ctx.call('host.call_plugin', host, getParam(ctx.params, 'plugin')!, getParam(ctx.params, 'fn')!, args))]);
}

async function poolHaEnable(ctx: CommandContext): Promise<void> {
  const uuids = getParam(ctx.params, 'heartbeat-sr-uuids');
  const srs: string[] = [];
  for (const uuid of uuids ? uuids.split(',') : []) srs.push(await refByUuid(ctx, 'SR', uuid));
  await ctx.client.callAsync('pool.enable_ha', srs, mapParam(ctx.params, 'ha-config'));
}

export async function run(ctx: CommandContext): Promise<void> {
  switch (ctx.cmd) {
    case 'host-dmesg': {
      const sel = await selectObjects(ctx, 'host');
      await forEachSelected(ctx, sel, async (row) => {
        // Printed as a message: the ring's line breaks are its own (other control characters are escaped).
        ctx.printer.msg(String(await ctx.client.callAsync('host.dmesg', row.ref)).replace(/\n$/, ''));
      });
      return;
    }
    case 'host-forget': return hostForget(ctx);
    case 'pool-sync-database': await ctx.client.callAsync('pool.sync_database'); return;
    case 'host-call-plugin': return hostCallPlugin(ctx);
    case 'pool-ha-enable': return poolHaEnable(ctx);
    case 'pool-ha-disable': await ctx.client.callAsync('pool.disable_ha'); return;
    case 'user-password-change':
      await ctx.call('session.change_password', getParam(ctx.params, 'old') ?? '', getParam(ctx.params, 'new')!);
      return;
  }
}
