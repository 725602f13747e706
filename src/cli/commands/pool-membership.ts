/**
 * @module
 * xe's pool membership and host power commands: `pool-join` (run on the joining host),
 * `pool-eject`, `pool-designate-new-master`, `pool-recover-slaves`, the emergency pair
 * run on a member whose master is gone (`pool-emergency-transition-to-master`,
 * `pool-emergency-reset-master`, which log in locally on that member), and `host-reboot`,
 * `host-shutdown`, `host-restart-agent` on the selected hosts.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { userSaysYes } from '../user-says-yes.js';
import { boolParam } from './storage-params.js';

async function hostByUuid(ctx: CommandContext): Promise<string> {
  const uuid = getParam(ctx.params, 'host-uuid');
  if (uuid === undefined) throw new CliFailure('host-uuid is required');
  return String(await ctx.call('host.get_by_uuid', uuid));
}

/** `VDI: <uuid> (<name>)` for each disk on an SR that only `host` sees. */
async function localVdis(ctx: CommandContext, host: string): Promise<string[]> {
  const lines: string[] = [];
  for (const pbd of (await ctx.call('host.get_PBDs', host)) as string[]) {
    const sr = String(await ctx.call('PBD.get_SR', pbd));
    const hosts = await Promise.all(((await ctx.call('SR.get_PBDs', sr)) as string[]).map((p) => ctx.call('PBD.get_host', p)));
    if (hosts.some((h) => h !== host)) continue;
    for (const vdi of (await ctx.call('SR.get_VDIs', sr)) as string[]) {
      lines.push(`VDI: ${String(await ctx.call('VDI.get_uuid', vdi))} (${String(await ctx.call('VDI.get_name_label', vdi))})`);
    }
  }
  return lines;
}

async function hostAction(ctx: CommandContext, method: string): Promise<void> {
  const sel = await selectObjects(ctx, 'host');
  await forEachSelected(ctx, sel, (row) => ctx.client.callAsync(method, row.ref));
}

export async function run(ctx: CommandContext): Promise<void> {
  switch (ctx.cmd) {
    case 'pool-join': {
      const address = getParam(ctx.params, 'master-address')!;
      const user = getParam(ctx.params, 'master-username')!;
      const pw = getParam(ctx.params, 'master-password')!;
      const force = getParam(ctx.params, 'force') === 'true';
      await ctx.call(force ? 'pool.join_force' : 'pool.join', address, user, pw);
      return;
    }
    case 'pool-eject': {
      const host = await hostByUuid(ctx);
      if (!boolParam(ctx.params, 'force')) {
        // As xe: warn that the host's local SRs are wiped, name their disks, then ask.
        ctx.printer.msg("WARNING: Ejecting a host from the pool will reinitialise that host's local SRs.");
        ctx.printer.msg('WARNING: Any data contained with the local SRs will be lost.');
        const doomed = await localVdis(ctx, host).catch(() => []);
        if (doomed.length) {
          ctx.printer.msg('The following VDI objects will be destroyed:');
          for (const line of doomed) ctx.printer.msg(line);
        }
        if (!(await userSaysYes(ctx))) return;
      }
      await ctx.client.callAsync('pool.eject', host);
      ctx.printer.msg('Specified host will attempt to restart as a master of a new pool in 10.0 seconds...');
      return;
    }
    case 'pool-designate-new-master':
      await ctx.client.callAsync('pool.designate_new_master', await hostByUuid(ctx));
      return;
    case 'pool-recover-slaves': {
      const hosts = (await ctx.client.callAsync('pool.recover_slaves')) as string[];
      const uuids: string[] = [];
      for (const h of hosts) uuids.push(String(await ctx.call('host.get_uuid', h)));
      ctx.printer.list(uuids);
      return;
    }
    case 'pool-emergency-transition-to-master':
      await ctx.call('pool.emergency_transition_to_master');
      return;
    case 'pool-emergency-reset-master':
      await ctx.call('pool.emergency_reset_master', getParam(ctx.params, 'master-address')!);
      return;
    case 'host-reboot':
      return hostAction(ctx, 'host.reboot');
    case 'host-shutdown':
      return hostAction(ctx, 'host.shutdown');
    case 'host-restart-agent':
      return hostAction(ctx, 'host.restart_agent');
    default:
      throw new CliFailure(`${ctx.cmd}: not a pool command`);
  }
}
