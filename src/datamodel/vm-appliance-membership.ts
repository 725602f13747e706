/**
 * @module
 * The VM calls that place it in an appliance (vApp) and in its start and stop sequence,
 * and the disaster-recovery pair that brings a VM back from a copy of a pool's database.
 */
import { message, param, setter, t } from './dsl.js';

export const vmApplianceMembershipMessages = [
  setter('VM', 'set_appliance', t.ref('VM_appliance'), 'The appliance to join, or null to leave the current one', {
    doc: 'Makes the VM a member of an appliance, or of none',
    role: 'pool-operator',
    async: true,
  }),
  setter('VM', 'set_order', t.int, 'Its position; lower numbers start first', {
    doc: 'Sets where the VM comes in its appliance\'s start sequence',
    role: 'pool-operator',
    async: true,
  }),
  setter('VM', 'set_start_delay', t.int, 'Seconds', {
    doc: 'Sets how long an appliance start waits after booting this VM before it moves on',
    role: 'pool-operator',
    async: true,
  }),
  setter('VM', 'set_shutdown_delay', t.int, 'Seconds', {
    doc: 'Sets how long an appliance shutdown waits after stopping this VM before it moves on',
    role: 'pool-operator',
    async: true,
  }),
  message('recover', {
    doc: 'Brings the VM back into the pool of another session from the database it was read from',
    params: [
      param('self', t.ref('VM'), 'The VM to bring back'),
      param('session_to', t.ref('session'), 'A session on the pool that receives the VM'),
      param('force', t.bool, 'Replace a copy of the VM already there even if it is as new'),
    ],
    role: 'read-only',
    async: true,
  }),
  message('assert_can_be_recovered', {
    doc: 'Fails unless every SR the VM\'s disks need is present and plugged in the receiving pool',
    params: [
      param('self', t.ref('VM'), 'The VM to check'),
      param('session_to', t.ref('session'), 'A session on the pool that would receive the VM'),
    ],
    errors: ['VM_IS_PART_OF_AN_APPLIANCE', 'VM_REQUIRES_SR'],
    role: 'read-only',
    async: true,
  }),
];
