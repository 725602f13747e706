/**
 * @module
 * xe's `vmpp-create` and `vmpp-destroy`. create takes the policy's settings as xe 6.0.2
 * did (`backup-schedule:min=15`, `archive-target-config:location=…`), with its defaults
 * for what is left out, and prints the new policy's uuid; the server checks and completes
 * the schedules.
 */
import { getParam } from '../argv.js';
import type { CommandContext, CommandModule } from '../command-context.js';
import { boolParam, mapParam, printUuid, refByUuid } from './storage-params.js';

const cmd = (run: (ctx: CommandContext) => Promise<void>): CommandModule => ({ run });
const opt = (ctx: CommandContext, name: string, dflt: string) => getParam(ctx.params, name) ?? dflt;

export const vmppCreate = cmd(async (ctx) => {
  const ref = await ctx.call('VMPP.create', {
    name_label: getParam(ctx.params, 'name-label')!,
    name_description: opt(ctx, 'name-description', ''),
    is_policy_enabled: boolParam(ctx.params, 'is-policy-enabled', true),
    backup_type: getParam(ctx.params, 'backup-type')!,
    backup_retention_value: Number(opt(ctx, 'backup-retention-value', '7')),
    backup_frequency: getParam(ctx.params, 'backup-frequency')!,
    backup_schedule: mapParam(ctx.params, 'backup-schedule'),
    archive_target_type: opt(ctx, 'archive-target-type', 'none'),
    archive_target_config: mapParam(ctx.params, 'archive-target-config'),
    archive_frequency: opt(ctx, 'archive-frequency', 'never'),
    archive_schedule: mapParam(ctx.params, 'archive-schedule'),
    is_alarm_enabled: boolParam(ctx.params, 'is-alarm-enabled', false),
    alarm_config: mapParam(ctx.params, 'alarm-config'),
  });
  await printUuid(ctx, 'VMPP', ref);
});

export const vmppDestroy = cmd(async (ctx) => {
  await ctx.call('VMPP.destroy', await refByUuid(ctx, 'VMPP', getParam(ctx.params, 'uuid')!));
});
