/**
 * @module
 * A VM appliance (vApp): a named group of VMs started and stopped as one, in the order
 * and with the pauses its members' `order`, `start_delay` and `shutdown_delay` say.
 */
import { cls, inverse, message, param, runtime, rw, t } from './dsl.js';
import { vmApplianceOperation } from './enums.js';

const self = param('self', t.ref('VM_appliance'), 'The appliance');
const partialFailure = ['OPERATION_PARTIALLY_FAILED'];

export const vmAppliance = cls('VM_appliance', {
  doc: 'A group of VMs started and stopped together, in a set order',
  create: true,
  destroy: true,
  writeRole: 'pool-operator',
  createRole: 'pool-operator',
  fields: [
    rw('name_label', t.string, 'Short name of the appliance'),
    rw('name_description', t.string, 'Longer description of the appliance'),
    runtime('allowed_operations', t.set(t.enum(vmApplianceOperation)), 'Operations that would make sense on the appliance now'),
    runtime('current_operations', t.map(t.string, t.enum(vmApplianceOperation)), 'The operation running on the appliance, keyed by its task'),
    inverse('VMs', 'VM', 'appliance', 'The VMs that belong to the appliance'),
  ],
  messages: [
    message('start', {
      doc: 'Starts the appliance\'s halted VMs, lowest order first, each group after the one before has started',
      params: [self, param('paused', t.bool, 'Leave every VM paused once built')],
      errors: partialFailure,
      role: 'pool-operator',
      async: true,
    }),
    message('clean_shutdown', {
      doc: 'Asks the appliance\'s running VMs to shut down, highest order first',
      params: [self],
      errors: partialFailure,
      role: 'pool-operator',
      async: true,
    }),
    message('hard_shutdown', {
      doc: 'Stops the appliance\'s VMs at once, highest order first',
      params: [self],
      errors: partialFailure,
      role: 'pool-operator',
      async: true,
    }),
    message('shutdown', {
      doc: 'Shuts the appliance\'s VMs down, each cleanly if it can and forcibly if not, highest order first',
      params: [self],
      errors: partialFailure,
      role: 'pool-operator',
      async: true,
    }),
    message('assert_can_be_recovered', {
      doc: 'Fails unless every SR the appliance\'s VMs need is present and plugged in the receiving pool',
      params: [self, param('session_to', t.ref('session'), 'A session on the pool that would receive the appliance')],
      errors: ['VM_REQUIRES_SR'],
      role: 'read-only',
      async: true,
    }),
    message('recover', {
      doc: 'Brings the appliance and its VMs back into the pool of another session',
      params: [
        self,
        param('session_to', t.ref('session'), 'A session on the pool that receives the appliance'),
        param('force', t.bool, 'Replace copies of the VMs already there even if they are as new'),
      ],
      errors: ['VM_REQUIRES_SR'],
      role: 'read-only',
      async: true,
    }),
  ],
});
