/**
 * @module
 * The snapshot commands, each taking `snapshot-uuid=` (or `uuid=`): `snapshot-revert`,
 * `snapshot-destroy` (the snapshot VM only; its disks stay) and `snapshot-uninstall` (the
 * snapshot and the disks it owns, after confirmation or with `--force`); and `vm-destroy
 * uuid=`, which removes a VM record and its drives but keeps its disks.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { callAsync, refByUuid } from './storage-params.js';
import { uninstall } from './vm-uninstall.js';

async function snapshotRef(ctx: CommandContext): Promise<string> {
  const uuid = getParam(ctx.params, 'snapshot-uuid') ?? getParam(ctx.params, 'uuid');
  if (uuid === undefined) throw new CliFailure('Required parameter not found: snapshot-uuid or uuid.');
  const ref = await refByUuid(ctx, 'VM', uuid);
  if (await ctx.call('VM.get_is_a_snapshot', ref) !== true) {
    throw new CliFailure(`This operation can only be performed on a VM snapshot. ${uuid} is not a VM snapshot.`);
  }
  return ref;
}

export const snapshotRevert: CommandModule = {
  run: async (ctx) => {
    await callAsync(ctx, 'VM.revert', await snapshotRef(ctx));
  },
};

export const snapshotDestroy: CommandModule = {
  run: async (ctx) => {
    const ref = await snapshotRef(ctx);
    if (String(await ctx.call('VM.get_power_state', ref)) !== 'Halted') await callAsync(ctx, 'VM.hard_shutdown', ref);
    await callAsync(ctx, 'VM.destroy', ref);
  },
};

export const snapshotUninstall: CommandModule = {
  run: async (ctx) => uninstall(ctx, [await snapshotRef(ctx)]),
};

export const vmDestroy: CommandModule = {
  run: async (ctx) => {
    const vm = await refByUuid(ctx, 'VM', getParam(ctx.params, 'uuid')!);
    if (await ctx.call('VM.get_is_control_domain', vm) === true) {
      throw new CliFailure('You cannot destroy a control domain via the CLI');
    }
    await callAsync(ctx, 'VM.destroy', vm);
  },
};
