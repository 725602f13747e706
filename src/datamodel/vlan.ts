/**
 * @module
 * A VLAN: traffic of one 802.1Q tag on a host interface, given its own PIF (the
 * "untagged" side) on a network of its own.
 */
import { cls, ctor, message, param, runtime, rw, t } from './dsl.js';

export const vlan = cls('VLAN', {
  doc: 'The traffic of one VLAN tag on a host interface, as an interface of its own',
  writeRole: 'pool-operator',
  fields: [
    ctor('tagged_PIF', t.ref('PIF'), 'The interface carrying the tagged traffic'),
    runtime('untagged_PIF', t.ref('PIF'), 'The interface the VLAN\'s traffic appears on, untagged'),
    ctor('tag', t.int, 'The 802.1Q tag', { default: -1 }),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
  ],
  messages: [
    message('create', {
      doc: 'Makes a VLAN on an interface, with a new interface on the given network for its traffic',
      params: [
        param('tagged_PIF', t.ref('PIF'), 'The interface to take the tagged traffic from'),
        param('tag', t.int, 'The 802.1Q tag, 0 to 4094'),
        param('network', t.ref('network'), 'The network the VLAN\'s interface joins'),
      ],
      result: t.ref('VLAN'),
      resultDoc: 'The new VLAN',
      errors: ['VLAN_TAG_INVALID', 'PIF_IS_VLAN', 'CANNOT_ADD_VLAN_TO_BOND_SLAVE', 'PIF_VLAN_EXISTS', 'NETWORK_ALREADY_CONNECTED'],
      role: 'pool-operator',
      async: true,
    }),
    message('destroy', {
      doc: 'Removes a VLAN and its interface',
      params: [
        param('self', t.ref('VLAN'), 'The VLAN to remove'),
      ],
      errors: ['PIF_IS_MANAGEMENT_INTERFACE'],
      role: 'pool-operator',
      async: true,
    }),
  ],
});
