/**
 * @module
 * xe's hotfix commands, as XenServer names them (`patch-*`, `update-*`,
 * `pool-dump-database`, `pool-restore-database`), and Islet's own (`islet-update-key-*`,
 * `pool-rolling-update*`), for the command table.
 */
import type { CommandSpec } from './command-table.js';

const ops = () => import('./commands/update-ops.js');
const upload = () => import('./commands/update-upload.js');
const keys = () => import('./commands/update-keys.js');
const rolling = () => import('./commands/rolling-update.js');
const dbase = () => import('./commands/pool-database.js');

const patchOp = (op: 'precheck' | 'apply' | 'pool-apply' | 'clean' | 'pool-clean' | 'destroy', help: string, host = false): CommandSpec => ({
  name: `patch-${op}`, reqd: host ? ['uuid', 'host-uuid'] : ['uuid'], optn: [], help, flags: ['standard'],
  load: async () => (await ops()).updateOpCommand('patch', op),
});
const updateOp = (op: 'precheck' | 'apply' | 'pool-apply' | 'pool-clean' | 'destroy', help: string, host = false): CommandSpec => ({
  name: `update-${op}`, reqd: host ? ['uuid', 'host-uuid'] : ['uuid'], optn: [], help, flags: ['standard'],
  load: async () => (await ops()).updateOpCommand('update', op),
});

export const UPDATE_COMMANDS: readonly CommandSpec[] = [
  { name: 'patch-upload', reqd: ['file-name'], optn: [], flags: ['standard'],
    help: 'Upload a patch file to the pool master. Prints the new patch\'s UUID.',
    load: async () => (await upload()).uploadCommand('patch') },
  patchOp('precheck', 'Run the prechecks contained within the patch previously uploaded to the specified host.', true),
  patchOp('apply', 'Apply the previously uploaded patch to the specified host.', true),
  patchOp('pool-apply', 'Apply the previously uploaded patch to all hosts in the pool.'),
  patchOp('clean', 'Delete a previously uploaded patch file.'),
  patchOp('pool-clean', 'Delete a previously uploaded patch file on all hosts in the pool.'),
  patchOp('destroy', 'Remove an unapplied patch record and files from the server.'),
  { name: 'update-upload', reqd: ['file-name'], optn: ['sr-uuid'], flags: ['standard'],
    help: 'Upload an update file to the pool master. Prints the new update\'s UUID. With sr-uuid, the file is put into a new VDI of that SR and introduced from it.',
    load: async () => (await upload()).uploadCommand('update') },
  { name: 'update-introduce', reqd: ['vdi-uuid'], optn: [], flags: ['standard'],
    help: 'Introduce an update held in a VDI (the update file written raw from its first byte, e.g. with vdi-import). Prints its UUID.',
    load: async () => (await ops()).updateIntroduce },
  updateOp('precheck', 'Execute the precheck stage of the selected update on the specified host.', true),
  updateOp('apply', 'Apply the selected update to the specified host.', true),
  updateOp('pool-apply', 'Apply the selected update to all hosts in the pool.'),
  updateOp('pool-clean', 'Remove the update\'s files from all hosts in the pool.'),
  updateOp('destroy', 'Remove an update which is not applied to any host.'),
  { name: 'pool-dump-database', reqd: ['file-name'], optn: [], flags: ['standard'],
    help: 'Download a dump of the pool database.',
    load: async () => (await dbase()).poolDumpDatabase },
  { name: 'pool-restore-database', reqd: ['file-name'], optn: ['dry-run'], flags: ['standard'],
    help: 'Restore a dump of the pool database to the server.',
    load: async () => (await dbase()).poolRestoreDatabase },
  { name: 'pool-rolling-update', reqd: ['uuid'], optn: ['dry-run', 'force', 'restart', 'evacuate', 'batch', 'wait-timeout'], flags: ['standard'],
    help: 'Apply an update to every host one at a time, master first, migrating VMs away live and restarting each host as the update asks (Islet). uuid= is the update\'s or its patch\'s (as patch-upload prints it). --dry-run prints the plan.',
    load: async () => (await rolling()).rollingUpdate },
  { name: 'pool-rolling-update-resume', reqd: [], optn: ['uuid'], flags: ['standard'],
    help: 'Continue a rolling update paused by a failure (Islet).',
    load: async () => (await rolling()).rollingUpdateResume },
  { name: 'pool-rolling-update-abort', reqd: [], optn: ['uuid'], flags: ['standard'],
    help: 'Stop a rolling update for good (Islet).',
    load: async () => (await rolling()).rollingUpdateAbort },
  { name: 'islet-update-key-add', reqd: ['file-name'], optn: [], flags: ['standard'],
    help: 'Trust the OpenPGP public key(s) in a file to sign updates (Islet). Prints their fingerprints.',
    load: async () => (await keys()).updateKeyAdd },
  { name: 'islet-update-key-remove', reqd: ['fingerprint'], optn: [], flags: ['standard'],
    help: 'Stop trusting an update signing key (Islet).',
    load: async () => (await keys()).updateKeyRemove },
  { name: 'islet-update-key-list', reqd: [], optn: [], flags: ['standard'],
    help: 'List the keys trusted to sign updates (Islet).',
    load: async () => (await keys()).updateKeyList },
];
