/**
 * @module
 * VMPP: VM protection policies. The setters here keep a policy's maps consistent with the
 * fields they depend on (`vmpp-rules.ts`); running a policy, its alerts and archiving are
 * in `vmpp-protect.ts`, its schedule in `vmpp-scheduler.ts`. create checks and completes
 * what it is given as xapi's did; destroy refuses a policy that still has VMs.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { EPOCH_DATE } from './vmpp-protect.js';
import { newRef, newUuid, type Ref } from '../../core/ref.js';
import {
  assertArchiveNotMoreFrequent, assertRetention, checkKeys, completeKeys, forArchiveFrequency, type CheckedMap, type StrMap,
} from './vmpp-rules.js';
import { forgetPassword, passwordToSecret, withPasswordAsSecret } from './vmpp-secrets.js';
import { archiveNow, getAlerts, protectNow } from './vmpp-protect.js';

function policy(ctx: ActionContext, ref: Ref<'VMPP'>) {
  const row = ctx.db.get('VMPP', ref);
  if (!row) throw new ApiError('HANDLE_INVALID', ['VMPP', ref]);
  return row;
}

const map = (v: unknown): StrMap => ({ ...((v ?? {}) as StrMap) });
const asBool = (v: unknown, dflt: boolean) => (v === undefined ? dflt : v === true || v === 'true');

/** A setter of a checked map: every key checked against all the map's variants. */
function setMap(field: CheckedMap, keepMerged: boolean) {
  return (ctx: ActionContext, a: { self: Ref<'VMPP'>; value: StrMap }) => {
    const current = map(policy(ctx, a.self)[field]);
    const checked = checkKeys(field, undefined, map(a.value), current);
    let value = keepMerged ? checked : map(a.value);
    if (field === 'archive_target_config') value = withPasswordAsSecret(ctx, value, current);
    ctx.db.update('VMPP', a.self, { [field]: value });
    return '';
  };
}

function addToMap(field: CheckedMap, keepChecked: boolean) {
  return (ctx: ActionContext, a: { self: Ref<'VMPP'>; key: string; value: string }) => {
    const current = map(policy(ctx, a.self)[field]);
    const key = String(a.key);
    const checked = checkKeys(field, undefined, { [key]: String(a.value) }, current)[key] ?? String(a.value);
    let value = keepChecked ? checked : String(a.value);
    if (field === 'archive_target_config' && key === 'password') value = passwordToSecret(ctx, value, current);
    ctx.db.update('VMPP', a.self, { [field]: { ...current, [key]: value } });
    return '';
  };
}

function removeFromMap(field: CheckedMap) {
  return (ctx: ActionContext, a: { self: Ref<'VMPP'>; key: string }) => {
    const current = map(policy(ctx, a.self)[field]);
    const key = String(a.key);
    if (field === 'archive_target_config' && key === 'password') forgetPassword(ctx, current);
    delete current[key];
    ctx.db.update('VMPP', a.self, { [field]: current });
    return '';
  };
}

function create(ctx: ActionContext, a: { args?: Record<string, unknown> }): Ref<'VMPP'> {
  const r = a.args ?? {};
  const backupFrequency = String(r.backup_frequency ?? 'daily');
  const archiveFrequency = String(r.archive_frequency ?? 'never');
  const targetType = String(r.archive_target_type ?? 'none');
  const alarmEnabled = asBool(r.is_alarm_enabled, false);
  const retention = Number(r.backup_retention_value ?? 7);
  let backupSchedule = map(r.backup_schedule);
  let archiveSchedule = map(r.archive_schedule);
  let target = map(r.archive_target_config);
  let alarm = map(r.alarm_config);
  // The keys given must belong to the variant the policy's fields name...
  checkKeys('backup_schedule', backupFrequency, backupSchedule, {});
  checkKeys('archive_schedule', archiveFrequency, archiveSchedule, {});
  checkKeys('archive_target_config', targetType, target, {});
  checkKeys('alarm_config', String(alarmEnabled), alarm, {});
  // ...and the maps are then completed (or emptied) to what those fields need.
  backupSchedule = completeKeys('backup_schedule', backupFrequency, backupSchedule, backupSchedule);
  ({ target, schedule: archiveSchedule } = forArchiveFrequency(archiveFrequency, targetType, target, archiveSchedule));
  if (alarmEnabled) alarm = completeKeys('alarm_config', 'true', alarm, alarm);
  target = targetType === 'none' ? {} : completeKeys('archive_target_config', targetType, target, target);
  assertArchiveNotMoreFrequent(archiveFrequency, backupFrequency);
  assertRetention(retention);
  target = withPasswordAsSecret(ctx, target, {});
  const ref = newRef<'VMPP'>();
  ctx.db.create('VMPP', ref, {
    uuid: newUuid(),
    name_label: String(r.name_label ?? ''),
    name_description: String(r.name_description ?? ''),
    is_policy_enabled: asBool(r.is_policy_enabled, true),
    backup_type: r.backup_type === 'checkpoint' ? 'checkpoint' : 'snapshot',
    backup_retention_value: retention,
    backup_frequency: backupFrequency as 'daily',
    backup_schedule: backupSchedule,
    is_backup_running: false,
    backup_last_run_time: EPOCH_DATE,
    archive_target_type: targetType as 'none',
    archive_target_config: target,
    archive_frequency: archiveFrequency as 'never',
    archive_schedule: archiveSchedule,
    is_archive_running: false,
    archive_last_run_time: EPOCH_DATE,
    is_alarm_enabled: alarmEnabled,
    alarm_config: alarm,
    recent_alerts: [],
  });
  return ref;
}

function destroy(ctx: ActionContext, a: { self: Ref<'VMPP'> }): string {
  const row = policy(ctx, a.self);
  if ((row.VMs ?? []).length > 0) throw new ApiError('VMPP_HAS_VM', []);
  ctx.db.transaction(() => {
    forgetPassword(ctx, map(row.archive_target_config));
    // The policy's alerts go with it.
    for (const [m, msg] of ctx.db.all('message')) if (msg.obj_uuid === row.uuid) ctx.db.remove('message', m);
    ctx.db.remove('VMPP', a.self);
  });
  return '';
}

export const vmppActions = {
  create,
  destroy,
  protect_now: (ctx, a) => protectNow(ctx, a.vmpp),
  archive_now: (ctx, a) => archiveNow(ctx, a.snapshot),
  get_alerts: (ctx, a) => getAlerts(ctx, a.vmpp, Number(a.hours_from_now)),
  set_backup_retention_value: (ctx, a) => {
    policy(ctx, a.self);
    assertRetention(Number(a.value));
    ctx.db.update('VMPP', a.self, { backup_retention_value: Number(a.value) });
    return '';
  },
  set_backup_frequency: (ctx, a) => {
    const row = policy(ctx, a.self);
    assertArchiveNotMoreFrequent(String(row.archive_frequency), a.value);
    const schedule = map(row.backup_schedule);
    ctx.db.update('VMPP', a.self, { backup_frequency: a.value, backup_schedule: completeKeys('backup_schedule', a.value, schedule, schedule) });
    return '';
  },
  set_archive_frequency: (ctx, a) => {
    const row = policy(ctx, a.self);
    assertArchiveNotMoreFrequent(a.value, String(row.backup_frequency));
    const { target, schedule } = forArchiveFrequency(a.value, String(row.archive_target_type), map(row.archive_target_config), map(row.archive_schedule));
    ctx.db.update('VMPP', a.self, { archive_frequency: a.value, archive_target_config: target, archive_schedule: schedule });
    return '';
  },
  set_archive_target_type: (ctx, a) => {
    const row = policy(ctx, a.self);
    if (a.value === 'none') {
      // No target: nothing to archive to, so archiving stops.
      forgetPassword(ctx, map(row.archive_target_config));
      ctx.db.update('VMPP', a.self, { archive_target_type: 'none', archive_target_config: {}, archive_frequency: 'never', archive_schedule: {} });
      return '';
    }
    const target = map(row.archive_target_config);
    ctx.db.update('VMPP', a.self, { archive_target_type: a.value, archive_target_config: completeKeys('archive_target_config', a.value, target, target) });
    return '';
  },
  set_is_alarm_enabled: (ctx, a) => {
    const row = policy(ctx, a.self);
    const alarm = map(row.alarm_config);
    // Turning alarms off keeps their settings for the next time they are turned on.
    ctx.db.update('VMPP', a.self, { is_alarm_enabled: a.value, alarm_config: a.value ? completeKeys('alarm_config', 'true', alarm, alarm) : alarm });
    return '';
  },
  set_backup_schedule: setMap('backup_schedule', true),
  set_archive_schedule: setMap('archive_schedule', true),
  set_archive_target_config: setMap('archive_target_config', false),
  set_alarm_config: setMap('alarm_config', false),
  add_to_backup_schedule: addToMap('backup_schedule', true),
  add_to_archive_schedule: addToMap('archive_schedule', true),
  add_to_archive_target_config: addToMap('archive_target_config', false),
  add_to_alarm_config: addToMap('alarm_config', false),
  remove_from_backup_schedule: removeFromMap('backup_schedule'),
  remove_from_archive_schedule: removeFromMap('archive_schedule'),
  remove_from_archive_target_config: removeFromMap('archive_target_config'),
  remove_from_alarm_config: removeFromMap('alarm_config'),
  set_backup_last_run_time: (ctx, a) => {
    policy(ctx, a.self);
    ctx.db.update('VMPP', a.self, { backup_last_run_time: a.value });
    return '';
  },
  set_archive_last_run_time: (ctx, a) => {
    policy(ctx, a.self);
    ctx.db.update('VMPP', a.self, { archive_last_run_time: a.value });
    return '';
  },
} satisfies ActionsOf<'VMPP'>;
