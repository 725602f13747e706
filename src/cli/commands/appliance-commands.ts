/**
 * @module
 * xe's VM appliance commands, each one XenAPI call on the appliance named by `uuid=`
 * (`appliance-shutdown --force` is a hard shutdown, without it a clean one), and the
 * recovery commands. Those read the VM or appliance from the database on a VDI, as xe
 * does: `VDI.open_database` gives a session onto that database, the call is made in it
 * with the caller's session as the receiving one, and the database session is closed after.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { boolParam, callAsync, mapParam, printUuid, refByUuid } from './storage-params.js';

const need = (ctx: CommandContext, name: string): string => getParam(ctx.params, name)!;
const cmd = (run: (ctx: CommandContext) => Promise<void>): CommandModule => ({ run });
const appliance = (ctx: CommandContext) => refByUuid(ctx, 'VM_appliance', need(ctx, 'uuid'));

export const applianceCreate = cmd(async (ctx) => {
  const ref = await ctx.call('VM_appliance.create', {
    name_label: need(ctx, 'name-label'), name_description: getParam(ctx.params, 'name-description') ?? '',
  });
  await printUuid(ctx, 'VM_appliance', ref);
});

export const applianceDestroy = cmd(async (ctx) => {
  await ctx.call('VM_appliance.destroy', await appliance(ctx));
});

export const applianceStart = cmd(async (ctx) => {
  await callAsync(ctx, 'VM_appliance.start', await appliance(ctx), boolParam(ctx.params, 'paused'));
});

export const applianceShutdown = cmd(async (ctx) => {
  const method = boolParam(ctx.params, 'force') ? 'VM_appliance.hard_shutdown' : 'VM_appliance.clean_shutdown';
  await callAsync(ctx, method, await appliance(ctx));
});

/** Runs `fn` with a session onto the database of the VDI named by `database:vdi-uuid=`. */
async function withDatabase(ctx: CommandContext, fn: (db: string) => Promise<void>): Promise<void> {
  const vdiUuid = mapParam(ctx.params, 'database')['vdi-uuid'];
  if (vdiUuid === undefined) throw new CliFailure('This command needs database:vdi-uuid=<uuid>, the VDI holding the database to read.');
  const vdi = await refByUuid(ctx, 'VDI', vdiUuid);
  const db = String(await ctx.call('VDI.open_database', vdi));
  try {
    await fn(db);
  } finally {
    await ctx.client.rawCall('session.logout', [db]).catch(() => undefined);
  }
}

/** A recovery command: the object is looked up by uuid in the database read from the VDI. */
function recovery(cls: 'VM' | 'VM_appliance', method: 'recover' | 'assert_can_be_recovered'): CommandModule {
  return cmd((ctx) => withDatabase(ctx, async (db) => {
    const me = ctx.client.sessionId!;
    const ref = await ctx.client.rawCall(`${cls}.get_by_uuid`, [db, need(ctx, 'uuid')]);
    const args = method === 'recover' ? [db, ref, me, boolParam(ctx.params, 'force')] : [db, ref, me];
    await ctx.client.rawCall(`${cls}.${method}`, args);
  }));
}

export const applianceRecover = recovery('VM_appliance', 'recover');
export const applianceAssertCanBeRecovered = recovery('VM_appliance', 'assert_can_be_recovered');
export const vmRecover = recovery('VM', 'recover');
export const vmAssertCanBeRecovered = recovery('VM', 'assert_can_be_recovered');
