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

async function hostByUuid(ctx: CommandContext): Promise<string> {
  const uuid = getParam(ctx.params, 'host-uuid');
  if (uuid === undefined) throw new CliFailure('host-uuid is required');
  return String(await ctx.call('host.get_by_uuid', uuid));
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
    case 'pool-eject':
      await ctx.client.callAsync('pool.eject', await hostByUuid(ctx));
      ctx.printer.msg('Specified host will attempt to restart as a master of a new pool in 10.0 seconds...');
      return;
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
