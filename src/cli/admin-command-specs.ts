/**
 * @module
 * xe's administration commands for the command table: VBD plugging and media, VM memory
 * settings and vCPU hot-plug, `vm-checkpoint`, host and pool administration (`host-dmesg`,
 * `host-forget`, `host-call-plugin`, `pool-ha-enable`/`-disable`, `pool-sync-database`,
 * `user-password-change`), secrets and subjects, messages, data sources, `event-wait`, diagnostics and logs
 * (`diagnostic-vm-status`, `diagnostic-vdi-status`, `log-get`, `log-set-output`,
 * `log-get-keys`, `log-reopen`, `host-logs-download`). Names, parameters and selector flags
 * are XenServer's.
 */
import type { CommandSpec } from './command-table.js';

const vbd = () => import('./commands/vbd-ops.js');
const mem = () => import('./commands/vm-memory.js');
const admin = () => import('./commands/host-admin.js');
const diag = () => import('./commands/diagnostic-commands.js');
const ds = () => import('./commands/data-source-commands.js');

export const ADMIN_COMMANDS: readonly CommandSpec[] = [
  { name: 'host-data-source-list', reqd: [], optn: [], flags: ['host-selectors'], help: 'List the data sources that can be recorded for a host.', load: ds },
  { name: 'host-data-source-query', reqd: ['data-source'], optn: [], flags: ['host-selectors'], help: 'Query the last value read from a host data source.', load: ds },
  { name: 'host-data-source-record', reqd: ['data-source'], optn: [], flags: ['host-selectors'], help: 'Record the specified data source for a host.', load: ds },
  { name: 'host-data-source-forget', reqd: ['data-source'], optn: [], flags: ['host-selectors'],
    help: 'Stop recording the specified data source for a host, and forget all of the recorded data.', load: ds },
  { name: 'vm-data-source-list', reqd: [], optn: [], flags: ['vm-selectors'], help: 'List the data sources that can be recorded for a VM.', load: ds },
  { name: 'vm-data-source-query', reqd: ['data-source'], optn: [], flags: ['vm-selectors'], help: 'Query the last value read from a VM data source.', load: ds },
  { name: 'vm-data-source-record', reqd: ['data-source'], optn: [], flags: ['vm-selectors'], help: 'Record the specified data source for a VM.', load: ds },
  { name: 'vm-data-source-forget', reqd: ['data-source'], optn: [], flags: ['vm-selectors'],
    help: 'Stop recording the specified data source for a VM, and forget all of the recorded data.', load: ds },
  { name: 'vbd-destroy', reqd: ['uuid'], optn: [], help: 'Destroy a VBD.', load: vbd },
  { name: 'vbd-plug', reqd: ['uuid'], optn: [], help: 'Attempt to attach the VBD while the VM is in the running state.', load: vbd },
  { name: 'vbd-unplug', reqd: ['uuid'], optn: ['timeout', 'force'],
    help: 'Attempt to detach the VBD while the VM is in the running state. With timeout=N, wait up to N seconds for a guest '
      + 'that refuses at first to let the device go; with --force, unplug it at once.', load: vbd },
  { name: 'vbd-eject', reqd: ['uuid'], optn: [], help: 'Remove the media from the drive represented by a VBD.', load: vbd },
  { name: 'vbd-insert', reqd: ['uuid', 'vdi-uuid'], optn: [], help: 'Insert new media into the drive represented by a VBD.', load: vbd },
  { name: 'vm-vcpu-hotplug', reqd: ['new-vcpus'], optn: [], flags: ['vm-selectors'],
    help: 'Change the number of vCPUs of a running VM, up to its VCPUs-max.', load: () => import('./commands/vm-vcpu-hotplug.js') },
  { name: 'vm-memory-limits-set', reqd: ['static-min', 'static-max', 'dynamic-min', 'dynamic-max'], optn: [], flags: ['vm-selectors'],
    help: 'Configure the memory limits of a VM.', load: mem },
  { name: 'vm-memory-static-range-set', reqd: ['min', 'max'], optn: [], flags: ['vm-selectors'],
    help: 'Configure the static memory range of a VM: the hard lower and upper limits of its memory, which can change only '
      + 'while the VM is halted and must encompass the dynamic range.', load: mem },
  { name: 'vm-memory-dynamic-range-set', reqd: ['min', 'max'], optn: [], flags: ['vm-selectors'],
    help: 'Configure the dynamic memory range of a VM: the soft lower and upper limits of its memory, which can change while '
      + 'the VM runs and must fit within the static range.', load: mem },
  { name: 'vm-memory-target-set', reqd: ['target'], optn: [], flags: ['vm-selectors'],
    help: 'Set the memory target for a halted or running VM. The value must lie within the VM\'s static range.', load: mem },
  { name: 'vm-checkpoint', reqd: ['new-name-label'], optn: ['new-name-description'], flags: ['standard', 'vm-selectors'],
    help: 'Checkpoint an existing VM: a snapshot of its disks and, for a running VM, of its memory. Prints the checkpoint\'s UUID.',
    load: async () => (await import('./commands/vm-copies.js')).vmCheckpoint },
  { name: 'host-dmesg', reqd: [], optn: [], flags: ['host-selectors'], help: 'Get xen dmesg of the XE host.', load: admin },
  { name: 'host-forget', reqd: ['uuid'], optn: ['force'],
    help: 'Forget about the host without contacting it explicitly. WARNING: this call is useful if the host to \'forget\' is '
      + 'dead; however, if the host is live and part of the pool, you should consider using pool-eject instead.', load: admin },
  { name: 'host-call-plugin', reqd: ['host-uuid', 'plugin', 'fn'], optn: ['args:'],
    help: 'Call a function of a plugin on the host, with optional arguments; args:<key>:file=<path> passes the content of a '
      + 'local file under key. Prints what the plugin returns.', load: admin },
  { name: 'pool-ha-enable', reqd: [], optn: ['heartbeat-sr-uuids', 'ha-config:'], help: 'Enable HA on this pool.', load: admin },
  { name: 'pool-ha-disable', reqd: [], optn: [], help: 'Disable HA on this pool.', load: admin },
  { name: 'message-create', reqd: ['name', 'priority', 'body'], optn: ['vm-uuid', 'host-uuid', 'sr-uuid', 'pool-uuid'],
    help: 'Create a message about one object: give exactly one of vm-uuid, host-uuid, sr-uuid and pool-uuid.',
    load: () => import('./commands/message-commands.js') },
  { name: 'message-destroy', reqd: [], optn: ['uuid', 'uuids'], help: 'Destroy one message (uuid=) or several (uuids=a,b,...).',
    load: () => import('./commands/message-commands.js') },
  { name: 'secret-create', reqd: ['value'], optn: ['other-config:'],
    help: 'Create a secret (a password a device config names by its uuid). Prints its UUID.', load: () => import('./commands/access-commands.js') },
  { name: 'secret-destroy', reqd: ['uuid'], optn: [], help: 'Destroy a secret.', load: () => import('./commands/access-commands.js') },
  { name: 'subject-remove', reqd: ['subject-uuid'], optn: [], help: 'Remove a subject from the list of subjects that can access the pool.',
    load: () => import('./commands/access-commands.js') },
  { name: 'subject-role-add', reqd: ['uuid'], optn: ['role-name', 'role-uuid'], help: 'Add a role to a subject.',
    load: () => import('./commands/access-commands.js') },
  { name: 'subject-role-remove', reqd: ['uuid'], optn: ['role-name', 'role-uuid'], help: 'Remove a role from a subject.',
    load: () => import('./commands/access-commands.js') },
  { name: 'pool-sync-database', reqd: [], optn: [], help: 'Synchronise the current database across all hosts in the pool.', load: admin },
  { name: 'user-password-change', reqd: ['new'], optn: ['old'], help: 'Change a user\'s login password.', load: admin },
  { name: 'event-wait', reqd: ['class'], optn: [],
    help: 'Wait for the event that satisfies the conditions given on the command line (field=value, or field=/=value for '
      + '"not equal").', load: () => import('./commands/event-wait.js') },
  { name: 'diagnostic-vm-status', reqd: ['uuid'], optn: [], flags: ['standard'],
    help: 'Query the hosts on which the VM can boot, check the sharing/locking status of all VBDs.', load: diag },
  { name: 'diagnostic-vdi-status', reqd: ['uuid'], optn: [],
    help: 'Query the locking and sharing status of a VDI: its active and inactive drives.', load: diag },
  { name: 'diagnostic-timing-stats', reqd: [], optn: [], help: 'Print timing stats: for each host, how many times each call ran, its mean and longest duration and failures.', load: diag },
  { name: 'diagnostic-gc-stats', reqd: [], optn: [], flags: ['host-selectors'], help: 'Print GC stats: the toolstack\'s heap and garbage collections.', load: diag },
  { name: 'diagnostic-compact', reqd: [], optn: [], flags: ['host-selectors'], help: 'Perform a major GC collection and heap compaction.', load: diag },
  { name: 'diagnostic-db-stats', reqd: [], optn: [], help: 'Print db stats: the database generation, file size and objects per class.', load: diag },
  { name: 'log-get', reqd: [], optn: [], help: 'Return the recent log of the toolstack xe is connected to.', load: diag },
  { name: 'log-set-output', reqd: ['output'], optn: ['key', 'level'],
    help: 'Send the toolstack\'s log lines (of one key with key=, from one level up with level=) to an output: nil, stderr, '
      + 'string (only the recent log log-get prints), syslog[:<facility>] or file:<file in the host\'s log directory>.', load: diag },
  { name: 'log-get-keys', reqd: [], optn: [], help: 'List the keys the toolstack logs under.', load: diag },
  { name: 'log-reopen', reqd: [], optn: [], help: 'Reopen the toolstack\'s log files (after logrotate moved them).', load: diag },
  { name: 'host-logs-download', reqd: [], optn: ['file-name'], flags: ['host-selectors'],
    help: 'Download a copy of the host logs (the toolstack\'s recent log) to file-name, or logs-<time>; with several hosts, '
      + 'one file each, named with the host\'s name.', load: diag },
];
