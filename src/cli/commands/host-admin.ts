/**
 * @module
 * Host and pool administration commands: `host-dmesg <host-selectors>` (each host's
 * hypervisor console ring, printed as it is), `host-forget uuid= [--force]` (remove a dead
 * host from the pool database, after xe's four warnings and a confirmation unless forced),
 * `pool-sync-database` (write the database out on every host now) and
 * `user-password-change new= [old=]` (the logged-in user's own password).
 */
import { getParam } from '../argv.js';
import type { CommandContext } from '../command-context.js';
import { forEachSelected, selectObjects } from '../select.js';
import { userSaysYes } from '../user-says-yes.js';
import { boolParam, refByUuid } from './storage-params.js';

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
    case 'user-password-change':
      await ctx.call('session.change_password', getParam(ctx.params, 'old') ?? '', getParam(ctx.params, 'new')!);
      return;
  }
}
