/**
 * @module
 * A VM protection policy (VMPP, XenServer 6.0's "VM protection and recovery"): a schedule
 * on which every VM assigned to the policy is snapshotted (or checkpointed), how many of
 * those snapshots to keep, where to archive them and whom to alert. The schedule maps and
 * the fields they depend on change only through the explicit setters, which check keys
 * and values against the frequency as xapi 6.0.2 did.
 */
import { cls, ctor, inverse, message, param, runtime, rw, setter, t } from './dsl.js';
import { vmppArchiveFrequency, vmppArchiveTargetType, vmppBackupFrequency, vmppBackupType } from './enums.js';

const self = param('self', t.ref('VMPP'), 'The protection policy');

/** The add_to_/remove_from_ pair of one of the policy's checked maps. */
function mapEditors<F extends string>(field: F, what: string) {
  return [
    message(`add_to_${field}` as `add_to_${F}`, {
      doc: `Adds one key to the ${what}, checked as the whole map would be`,
      params: [self, param('key', t.string, 'The key to add'), param('value', t.string, 'Its value')],
      errors: ['INVALID_VALUE'],
      role: 'pool-operator',
    }),
    message(`remove_from_${field}` as `remove_from_${F}`, {
      doc: `Removes one key from the ${what}`,
      params: [self, param('key', t.string, 'The key to remove')],
      role: 'pool-operator',
    }),
  ] as const;
}

export const vmpp = cls('VMPP', {
  doc: 'A VM protection policy: scheduled snapshots of its VMs, their retention, archiving and alerts',
  create: true,
  destroy: true,
  writeRole: 'pool-operator',
  createRole: 'pool-operator',
  fields: [
    rw('name_label', t.string, 'Short name of the policy'),
    rw('name_description', t.string, 'Longer description of the policy'),
    rw('is_policy_enabled', t.bool, 'Whether the scheduler runs this policy', { default: true }),
    rw('backup_type', t.enum(vmppBackupType), 'Whether a protection takes snapshots or checkpoints (with memory)'),
    ctor('backup_retention_value', t.int, 'How many policy snapshots of each VM are kept; older ones are destroyed', { default: 7 }),
    ctor('backup_frequency', t.enum(vmppBackupFrequency), 'How often the VMs are protected', { default: 'daily' }),
    ctor('backup_schedule', t.smap, 'When protections run: min, and hour and days as the frequency needs (server time)'),
    runtime('is_backup_running', t.bool, 'True while a protection of this policy runs'),
    runtime('backup_last_run_time', t.datetime, 'When the policy last protected its VMs'),
    ctor('archive_target_type', t.enum(vmppArchiveTargetType), 'Kind of share snapshots are archived to, or none', { default: 'none' }),
    ctor('archive_target_config', t.smap, 'Where to archive: location, and username and password for a CIFS share'),
    ctor('archive_frequency', t.enum(vmppArchiveFrequency), 'How often snapshots are archived', { default: 'never' }),
    ctor('archive_schedule', t.smap, 'When archiving runs: min, and hour and days as the frequency needs (server time)'),
    runtime('is_archive_running', t.bool, 'True while an archive of this policy runs'),
    runtime('archive_last_run_time', t.datetime, 'When the policy last archived'),
    inverse('VMs', 'VM', 'protection_policy', 'The VMs the policy protects'),
    ctor('is_alarm_enabled', t.bool, 'Whether failures are mailed as alarm_config says'),
    ctor('alarm_config', t.smap, 'How alarms are sent: email_address, smtp_server, smtp_port'),
    runtime('recent_alerts', t.set(t.string), 'The last ten alerts of the policy, newest first'),
  ],
  messages: [
    message('protect_now', {
      doc: 'Protects every VM of the policy at once, as a scheduled run would',
      params: [param('vmpp', t.ref('VMPP'), 'The policy to run')],
      result: t.string, resultDoc: 'What the run did',
      role: 'pool-operator',
    }),
    message('archive_now', {
      doc: 'Copies a policy snapshot to the policy\'s archive target',
      params: [param('snapshot', t.ref('VM'), 'The snapshot to archive')],
      result: t.string, resultDoc: 'What the archive did',
      errors: ['XENAPI_PLUGIN_FAILURE'],
      role: 'vm-power-admin',
    }),
    message('get_alerts', {
      doc: 'The policy\'s alerts of the last hours_from_now hours, each as XML',
      params: [param('vmpp', t.ref('VMPP'), 'The policy'), param('hours_from_now', t.int, 'How many hours back to look')],
      result: t.set(t.string), resultDoc: 'The alerts, newest first',
      role: 'pool-operator',
    }),
    setter('VMPP', 'set_backup_retention_value', t.int, 'From 1 to 10', { doc: 'Sets how many policy snapshots of each VM are kept', errors: ['INVALID_VALUE'], role: 'pool-operator' }),
    setter('VMPP', 'set_backup_frequency', t.enum(vmppBackupFrequency), 'The new frequency', {
      doc: 'Changes how often the VMs are protected; the backup schedule is completed or trimmed to the keys it needs',
      errors: ['INVALID_VALUE', 'VMPP_ARCHIVE_MORE_FREQUENT_THAN_BACKUP'], role: 'pool-operator',
    }),
    setter('VMPP', 'set_backup_schedule', t.smap, 'min, hour, days', { doc: 'Replaces the backup schedule, its keys and values checked', errors: ['INVALID_VALUE'], role: 'pool-operator' }),
    setter('VMPP', 'set_archive_frequency', t.enum(vmppArchiveFrequency), 'The new frequency', {
      doc: 'Changes how often snapshots are archived; the archive schedule is completed to the keys it needs',
      errors: ['INVALID_VALUE', 'VMPP_ARCHIVE_MORE_FREQUENT_THAN_BACKUP'], role: 'pool-operator',
    }),
    setter('VMPP', 'set_archive_schedule', t.smap, 'min, hour, days', { doc: 'Replaces the archive schedule, its keys and values checked', errors: ['INVALID_VALUE'], role: 'pool-operator' }),
    setter('VMPP', 'set_archive_target_type', t.enum(vmppArchiveTargetType), 'The new kind of target', {
      doc: 'Changes the kind of archive target; none also stops archiving', errors: ['INVALID_VALUE'], role: 'pool-operator',
    }),
    setter('VMPP', 'set_archive_target_config', t.smap, 'location, username, password', {
      doc: 'Replaces the archive target\'s settings; a password is kept as a secret', errors: ['INVALID_VALUE'], role: 'pool-operator',
    }),
    setter('VMPP', 'set_is_alarm_enabled', t.bool, 'Whether to send alarms', { doc: 'Turns alarms on or off; turning them on completes the alarm settings', errors: ['INVALID_VALUE'], role: 'pool-operator' }),
    setter('VMPP', 'set_alarm_config', t.smap, 'email_address, smtp_server, smtp_port', { doc: 'Replaces the alarm settings, checked', errors: ['INVALID_VALUE'], role: 'pool-operator' }),
    ...mapEditors('backup_schedule', 'backup schedule'),
    ...mapEditors('archive_target_config', 'archive target settings'),
    ...mapEditors('archive_schedule', 'archive schedule'),
    ...mapEditors('alarm_config', 'alarm settings'),
    setter('VMPP', 'set_backup_last_run_time', t.datetime, 'The time', { doc: 'Records when the policy last protected its VMs', roles: [] }),
    setter('VMPP', 'set_archive_last_run_time', t.datetime, 'The time', { doc: 'Records when the policy last archived', roles: [] }),
  ],
});

/** The VM's side: joining or leaving a policy. */
export const vmProtectionMessages = [
  setter('VM', 'set_protection_policy', t.ref('VMPP'), 'The policy, or null to leave the current one', {
    doc: 'Puts the VM under a protection policy, or under none',
    errors: ['INVALID_VALUE', 'VM_IS_TEMPLATE'],
    role: 'pool-operator',
  }),
  // Declared here rather than derived, for the check that keeps protected VMs from
  // becoming templates.
  setter('VM', 'set_is_a_template', t.bool, 'True to make the VM a template', {
    doc: 'Makes the VM a template, or a template a VM',
    errors: ['VM_IS_PART_OF_AN_APPLIANCE', 'VM_ASSIGNED_TO_PROTECTION_POLICY'],
    role: 'vm-admin',
  }),
];
