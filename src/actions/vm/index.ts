/**
 * @module
 * VM: every explicit message of the class, gathered from the modules that implement them
 * (disks and copies, power and lifecycle with suspend and migration, configuration
 * setters, checkpoints, the data sources its host samples, its place in an appliance, the
 * older live memory calls and disaster recovery).
 */
import { joinActions, type ActionsOf } from '../../core/actions-of.js';
import { attachNewBlob } from '../blob/blob-records.js';
import { vmCheckpointActions } from './vm-checkpoint.js';
import { vmConfigActions } from './vm-config.js';
import { vmSettingActions } from './vm-settings.js';
import { vmDiskActions } from './vm-disks.js';
import { vmPowerActions } from './vm-power.js';
import { vmMigrateActions } from './vm-migrate.js';
import { vmSuspendActions } from './vm-suspend.js';
import { vmDataSourceActions } from './vm-data-sources.js';
import { vmApplianceMembershipActions } from './vm-appliance-membership.js';
import { vmLiveMemoryActions } from './vm-live-memory.js';
import { vmRecoveryActions } from './vm-recovery.js';
import { vmProtectionActions } from './vm-protection.js';

export const vmActions = joinActions('VM', vmDiskActions, vmPowerActions, vmConfigActions, vmCheckpointActions, vmSettingActions,
  vmSuspendActions, vmMigrateActions, vmDataSourceActions, vmApplianceMembershipActions, vmLiveMemoryActions, vmRecoveryActions,
  vmProtectionActions,
  { create_new_blob: (ctx, a) => attachNewBlob(ctx, 'VM', a.vm, a) } satisfies ActionsOf<'VM'>);
