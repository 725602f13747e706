/**
 * @module
 * A bond: several physical interfaces of one host joined into one (the "master" PIF),
 * which takes over the members' IP configuration.
 */
import { cls, ctor, inverse, message, param, runtime, rw, t } from './dsl.js';
import { bondMode } from './enums.js';

export const bond = cls('Bond', {
  doc: 'Interfaces of a host joined to act as one',
  writeRole: 'pool-operator',
  fields: [
    ctor('master', t.ref('PIF'), 'The interface that stands for the bond'),
    inverse('slaves', 'PIF', 'bond_slave_of', 'The member interfaces'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
    runtime('primary_slave', t.ref('PIF'), 'The member whose address and configuration the bond took'),
    runtime('mode', t.enum(bondMode), 'How traffic is spread over the members', { default: 'balance-slb' }),
    runtime('properties', t.smap, 'Settings of the bonding mode'),
    runtime('links_up', t.int, 'How many members have a link'),
    runtime('auto_update_mac', t.bool, 'Whether the bond\'s MAC follows its primary member', { default: true }),
  ],
  messages: [
    message('create', {
      doc: 'Bonds interfaces of one host into a new interface on the given network',
      params: [
        param('network', t.ref('network'), 'The network the bond\'s interface joins'),
        param('members', t.set(t.ref('PIF')), 'The interfaces to bond, at least two, of one host'),
        param('MAC', t.string, 'Hardware address of the bond; empty to take the primary member\'s'),
        param('mode', t.enum(bondMode), 'How traffic is spread over the members'),
        param('properties', t.smap, 'Settings of the bonding mode'),
      ],
      result: t.ref('Bond'),
      resultDoc: 'The new bond',
      errors: ['PIF_BOND_NEEDS_MORE_MEMBERS', 'PIF_CANNOT_BOND_CROSS_HOST', 'PIF_ALREADY_BONDED', 'PIF_IS_VLAN', 'PIF_BOND_MORE_THAN_ONE_IP', 'NETWORK_ALREADY_CONNECTED', 'MAC_INVALID'],
      role: 'pool-operator',
      async: true,
    }),
    message('destroy', {
      doc: 'Dissolves a bond: its primary member takes back the configuration',
      params: [
        param('self', t.ref('Bond'), 'The bond to dissolve'),
      ],
      errors: ['PIF_VLAN_STILL_EXISTS'],
      role: 'pool-operator',
      async: true,
    }),
    message('set_mode', {
      doc: 'Changes how traffic is spread over the members',
      params: [
        param('self', t.ref('Bond'), 'The bond'),
        param('value', t.enum(bondMode), 'The new mode'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('set_property', {
      doc: 'Sets one setting of the bonding mode',
      params: [
        param('self', t.ref('Bond'), 'The bond'),
        param('name', t.string, 'The setting'),
        param('value', t.string, 'Its value'),
      ],
      role: 'pool-operator',
      async: true,
    }),
  ],
});
