/**
 * @module
 * The snapshot commands, each taking `snapshot-uuid=` (or `uuid=`): `snapshot-revert`,
 * `snapshot-destroy` (the snapshot VM only; its disks stay), `snapshot-uninstall` (the
 * snapshot and the disks it owns, after confirmation or with `--force`), `snapshot-clone`
 * and `snapshot-copy new-name-label= [new-name-description=] [sr-uuid=]` (a new template
 * from the snapshot: its disks cloned, sharing blocks, or copied whole; prints its uuid),
 * `snapshot-disk-list [vbd-params=] [vdi-params=]` and `snapshot-reset-powerstate --force`
 * (marks a suspended snapshot halted, giving up its memory image); and `vm-destroy uuid=`,
 * which removes a VM record and its drives but keeps its disks.
 */
import { getParam } from '../argv.js';
import { CliFailure } from '../cli-errors.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { NO_FORCE } from './vm-reset-powerstate.js';
import { printDrives } from './vm-cd-commands.js';
import { boolParam, callAsync, printUuid, refByUuid } from './storage-params.js';
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

/** `snapshot-clone` (VM.clone) or `snapshot-copy` (VM.copy, to `sr-uuid=` or the disks' own SRs). */
function newTemplate(copy: boolean): CommandModule {
  return {
    run: async (ctx) => {
      const name = getParam(ctx.params, 'new-name-label')!;
      const description = getParam(ctx.params, 'new-name-description');
      const snapshot = await snapshotRef(ctx);
      let made: unknown;
      if (copy) {
        const srUuid = getParam(ctx.params, 'sr-uuid');
        const sr = srUuid === undefined ? 'OpaqueRef:NULL' : await refByUuid(ctx, 'SR', srUuid);
        made = await callAsync(ctx, 'VM.copy', snapshot, name, sr);
      } else {
        made = await callAsync(ctx, 'VM.clone', snapshot, name);
      }
      if (description !== undefined) await ctx.call('VM.set_name_description', made, description);
      await printUuid(ctx, 'VM', made);
    },
  };
}

export const snapshotClone = newTemplate(false);
export const snapshotCopy = newTemplate(true);

export const snapshotDiskList: CommandModule = {
  run: async (ctx) => printDrives(ctx, await snapshotRef(ctx), 'Disk', 'vdi-params'),
};

export const snapshotResetPowerstate: CommandModule = {
  run: async (ctx) => {
    if (!boolParam(ctx.params, 'force')) throw new CliFailure(NO_FORCE);
    await ctx.call('VM.power_state_reset', await snapshotRef(ctx));
  },
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
