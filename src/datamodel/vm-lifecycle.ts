/**
 * @module
 * The VM calls that change its power state, move it between hosts or make new VMs from it
 * (snapshot, clone, copy, revert, provision).
 */
import { message, param, t } from './dsl.js';

export const vmLifecycleMessages = [
  message('snapshot', {
    doc: 'Takes a snapshot of the VM, sharing unchanged disk blocks with it',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('new_name', t.string, 'Name of the snapshot'),
      param('ignore_vdis', t.set(t.ref('VDI')), 'Disks to leave out of the snapshot', []),
    ],
    result: t.ref('VM'),
    resultDoc: 'The new snapshot',
    errors: ['VM_BAD_POWER_STATE', 'SR_FULL', 'OPERATION_NOT_ALLOWED'],
    role: 'vm-power-admin',
    async: true,
  }),
  message('clone', {
    doc: 'Makes a new VM from this one, sharing disk blocks where the storage can',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('new_name', t.string, 'Name of the new VM'),
    ],
    result: t.ref('VM'),
    resultDoc: 'The new VM',
    errors: ['VM_BAD_POWER_STATE', 'SR_FULL', 'OPERATION_NOT_ALLOWED', 'LICENCE_RESTRICTION'],
    role: 'vm-admin',
    async: true,
  }),
  message('copy', {
    doc: 'Makes a new VM from this one with full copies of its disks',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('new_name', t.string, 'Name of the new VM'),
      param('sr', t.ref('SR'), 'SR for the copied disks; null keeps each disk\'s SR'),
    ],
    result: t.ref('VM'),
    resultDoc: 'The new VM',
    errors: ['VM_BAD_POWER_STATE', 'SR_FULL', 'OPERATION_NOT_ALLOWED', 'LICENCE_RESTRICTION'],
    role: 'vm-admin',
    async: true,
  }),
  message('revert', {
    doc: 'Returns the VM to the state saved in one of its snapshots',
    params: [
      param('snapshot', t.ref('VM'), 'The snapshot to go back to'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OPERATION_NOT_ALLOWED', 'SR_FULL', 'VM_REVERT_FAILED'],
    role: 'vm-power-admin',
    async: true,
  }),
  message('checkpoint', {
    doc: 'Takes a snapshot that includes the running VM\'s memory',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('new_name', t.string, 'Name of the checkpoint'),
    ],
    result: t.ref('VM'),
    resultDoc: 'The new snapshot',
    errors: ['VM_BAD_POWER_STATE', 'SR_FULL', 'OPERATION_NOT_ALLOWED', 'VM_CHECKPOINT_SUSPEND_FAILED', 'VM_CHECKPOINT_RESUME_FAILED'],
    role: 'vm-power-admin',
    async: true,
  }),
  message('provision', {
    doc: 'Creates the disks a VM made from a template still lacks',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'SR_FULL', 'OPERATION_NOT_ALLOWED', 'LICENCE_RESTRICTION'],
    role: 'vm-admin',
    async: true,
  }),
  message('start', {
    doc: 'Boots a halted VM on a host the pool chooses',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('start_paused', t.bool, 'Leave the VM paused once built'),
      param('force', t.bool, 'Start even if the VM is marked unsafe to start'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'VM_HVM_REQUIRED', 'VM_IS_TEMPLATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED', 'BOOTLOADER_FAILED', 'UNKNOWN_BOOTLOADER', 'NO_HOSTS_AVAILABLE', 'LICENCE_RESTRICTION'],
    role: 'vm-operator',
    async: true,
  }),
  message('start_on', {
    doc: 'Boots a halted VM on a given host',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('host', t.ref('host'), 'Where to start it'),
      param('start_paused', t.bool, 'Leave the VM paused once built'),
      param('force', t.bool, 'Start even if the VM is marked unsafe to start'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'VM_IS_TEMPLATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED', 'BOOTLOADER_FAILED', 'UNKNOWN_BOOTLOADER'],
    roles: ['pool-admin', 'pool-operator', 'vm-power-admin', 'client-cert'],
    async: true,
  }),
  message('pause', {
    doc: 'Stops scheduling the VM\'s CPUs, keeping it in memory',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
    role: 'vm-operator',
    async: true,
  }),
  message('unpause', {
    doc: 'Resumes a paused VM',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
    role: 'vm-operator',
    async: true,
  }),
  message('clean_shutdown', {
    doc: 'Asks the guest to shut down and waits for it',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
    role: 'vm-operator',
    async: true,
  }),
  message('shutdown', {
    doc: 'Shuts the VM down cleanly if it can, forcibly otherwise',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
    role: 'client-cert',
    async: true,
  }),
  message('clean_reboot', {
    doc: 'Asks the guest to reboot and waits for it',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
    role: 'vm-operator',
    async: true,
  }),
  message('hard_shutdown', {
    doc: 'Stops the VM at once, like pulling the plug',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
    role: 'vm-operator',
    async: true,
  }),
  message('power_state_reset', {
    doc: 'Marks a VM halted when its host is known to be dead',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    role: 'pool-operator',
    async: true,
  }),
  message('hard_reboot', {
    doc: 'Restarts the VM at once, like pressing reset',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
    role: 'vm-operator',
    async: true,
  }),
  message('suspend', {
    doc: 'Saves the VM\'s memory to disk and stops it',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
    role: 'client-cert',
    async: true,
  }),
  message('resume', {
    doc: 'Restarts a suspended VM from its saved memory on a host the pool chooses',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('start_paused', t.bool, 'Leave the VM paused once resumed'),
      param('force', t.bool, 'Resume even if the host differs in CPU features'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
    role: 'vm-operator',
    async: true,
  }),
  message('resume_on', {
    doc: 'Restarts a suspended VM on a given host',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('host', t.ref('host'), 'Where to resume it'),
      param('start_paused', t.bool, 'Leave the VM paused once resumed'),
      param('force', t.bool, 'Resume even if the host differs in CPU features'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
    roles: ['pool-admin', 'pool-operator', 'vm-power-admin', 'client-cert'],
    async: true,
  }),
  message('pool_migrate', {
    doc: 'Moves a running VM to another host of the pool without stopping it',
    params: [
      param('vm', t.ref('VM'), 'The VM to act on'),
      param('host', t.ref('host'), 'Where to move it'),
      param('options', t.smap, 'Migration settings, such as live'),
    ],
    errors: ['VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'VM_IS_TEMPLATE', 'OPERATION_NOT_ALLOWED'],
    roles: ['pool-admin', 'pool-operator', 'vm-power-admin', 'client-cert'],
    async: true,
  }),
];
