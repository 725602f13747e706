/**
 * @module
 * A network: a virtual switch that VM interfaces (VIFs) and host interfaces (PIFs) connect
 * to.
 */
import { cls, ctor, inverse, message, param, runtime, rw, setter, t } from './dsl.js';
import { createNewBlob } from './blob.js';
import { networkDefaultLockingMode, networkOperations, networkPurpose } from './enums.js';

export const network = cls('network', {
  doc: 'A virtual switch joining VM and host network interfaces',
  create: true,
  destroy: true,
  writeRole: 'pool-operator',
  createRole: 'vm-admin',
  fields: [
    rw('name_label', t.string, 'Short name of the network'),
    rw('name_description', t.string, 'Longer description of the network'),
    runtime('allowed_operations', t.set(t.enum(networkOperations)), 'Operations that may be started on this object now'),
    runtime('current_operations', t.map(t.string, t.enum(networkOperations)), 'Operations running on this object, keyed by the task that runs them'),
    inverse('VIFs', 'VIF', 'network', 'VM interfaces connected to this network'),
    inverse('PIFs', 'PIF', 'network', 'Host interfaces connected to this network'),
    rw('MTU', t.int, 'Largest packet size on the network, in bytes', { default: 1500, writeRole: 'vm-admin' }),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools', { required: true }),
    ctor('bridge', t.string, 'Name of the bridge that implements the network on each host'),
    ctor('managed', t.bool, 'Whether the toolstack creates and removes the bridge', { default: true }),
    runtime('blobs', t.map(t.string, t.ref('blob')), 'Named binary objects attached to this object'),
    rw('tags', t.set(t.string), 'Labels users attach to group and find objects', { writeRole: 'vm-operator' }),
    runtime('default_locking_mode', t.enum(networkDefaultLockingMode), 'Traffic filtering for VIFs that do not set their own'),
    runtime('assigned_ips', t.map(t.ref('VIF'), t.string), 'Addresses handed out on this network to VIFs'),
    runtime('purpose', t.set(t.enum(networkPurpose)), 'Special uses of the network, such as NBD'),
  ],
  messages: [
    setter('network', 'add_purpose', t.enum(networkPurpose), 'The use to add', {
      doc: 'Marks the network for one more special use',
      errors: ['NETWORK_INCOMPATIBLE_PURPOSES'],
      role: 'pool-admin',
      async: true,
    }),
    setter('network', 'remove_purpose', t.enum(networkPurpose), 'The use to remove', {
      doc: 'Removes a special use from the network',
      role: 'pool-admin',
      async: true,
    }),
    message('set_default_locking_mode', {
      doc: 'Sets the traffic filtering for VIFs that do not choose their own',
      params: [
        param('network', t.ref('network'), 'The network'),
        param('value', t.enum(networkDefaultLockingMode), 'The new mode'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    createNewBlob('network', 'network', 'pool-operator'),
  ],
});
