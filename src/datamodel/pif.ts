/**
 * @module
 * A PIF: a host's network interface (physical, bond or VLAN) and its IP configuration.
 */
import { cls, ctor, inverse, message, param, runtime, rw, t } from './dsl.js';
import { ipConfigurationMode, ipv6ConfigurationMode, pifIgmpStatus, primaryAddressType } from './enums.js';

export const pif = cls('PIF', {
  doc: 'A network interface of a host',
  writeRole: 'pool-operator',
  fields: [
    ctor('device', t.string, 'Name of the interface in the host, such as eth0'),
    ctor('network', t.ref('network'), 'The network the interface is part of'),
    ctor('host', t.ref('host'), 'The host the interface belongs to'),
    ctor('MAC', t.string, 'Hardware address'),
    ctor('MTU', t.int, 'Largest packet size, in bytes'),
    ctor('VLAN', t.int, 'VLAN tag, or -1 for untagged'),
    runtime('metrics', t.ref('PIF_metrics'), 'Measurements of the interface'),
    runtime('physical', t.bool, 'True for a real network card'),
    runtime('currently_attached', t.bool, 'Whether the interface is up', { default: true }),
    runtime('ip_configuration_mode', t.enum(ipConfigurationMode), 'How the IPv4 address is set'),
    runtime('IP', t.string, 'IPv4 address'),
    runtime('netmask', t.string, 'IPv4 netmask'),
    runtime('gateway', t.string, 'IPv4 gateway'),
    runtime('DNS', t.string, 'Name servers, comma-separated'),
    runtime('bond_slave_of', t.ref('Bond'), 'The bond this interface is a member of'),
    inverse('bond_master_of', 'Bond', 'master', 'Bonds this interface is the master of'),
    runtime('VLAN_master_of', t.ref('VLAN'), 'The VLAN this interface carries'),
    inverse('VLAN_slave_of', 'VLAN', 'tagged_PIF', 'VLANs built on this interface'),
    runtime('management', t.bool, 'Whether the host is managed through this interface'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
    runtime('disallow_unplug', t.bool, 'Whether the interface must stay up (for storage traffic, say)'),
    runtime('tunnel_access_PIF_of', t.set(t.ref('tunnel')), 'Tunnels this interface is the access point of'),
    runtime('tunnel_transport_PIF_of', t.set(t.ref('tunnel')), 'Tunnels carried over this interface'),
    runtime('ipv6_configuration_mode', t.enum(ipv6ConfigurationMode), 'How the IPv6 address is set'),
    runtime('IPv6', t.set(t.string), 'IPv6 addresses'),
    runtime('ipv6_gateway', t.string, 'IPv6 gateway'),
    runtime('primary_address_type', t.enum(primaryAddressType), 'Which address family is used for management'),
    ctor('managed', t.bool, 'Whether the toolstack configures the interface', { default: true }),
    runtime('properties', t.smap, 'Driver settings of the interface'),
    runtime('capabilities', t.set(t.string), 'Features the interface supports'),
    runtime('igmp_snooping_status', t.enum(pifIgmpStatus), 'Whether IGMP snooping is on for the interface', { default: 'unknown' }),
    runtime('sriov_physical_PIF_of', t.set(t.ref('network_sriov')), 'SR-IOV networks using this interface as the physical device'),
    runtime('sriov_logical_PIF_of', t.set(t.ref('network_sriov')), 'SR-IOV networks this interface is the logical side of'),
    runtime('PCI', t.ref('PCI'), 'The PCI device behind the interface'),
  ],
  messages: [
    message('plug', {
      doc: 'Brings the interface up',
      params: [
        param('self', t.ref('PIF'), 'The PIF'),
      ],
      errors: ['TRANSPORT_PIF_NOT_CONFIGURED', 'CANNOT_PLUG_BOND_SLAVE'],
      role: 'pool-operator',
      async: true,
    }),
    message('unplug', {
      doc: 'Takes the interface down',
      params: [
        param('self', t.ref('PIF'), 'The PIF'),
      ],
      errors: ['HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN', 'VIF_IN_USE', 'PIF_DOES_NOT_ALLOW_UNPLUG', 'PIF_HAS_FCOE_SR_IN_USE', 'PIF_IS_MANAGEMENT_INTERFACE'],
      role: 'pool-operator',
      async: true,
    }),
    message('reconfigure_ip', {
      doc: 'Changes the IPv4 configuration of the interface',
      params: [
        param('self', t.ref('PIF'), 'The PIF'),
        param('mode', t.enum(ipConfigurationMode), 'How the address is set'),
        param('IP', t.string, 'Address for static mode'),
        param('netmask', t.string, 'Netmask for static mode'),
        param('gateway', t.string, 'Gateway for static mode'),
        param('DNS', t.string, 'Name servers for static mode'),
      ],
      errors: ['CLUSTERING_ENABLED', 'INVALID_IP_ADDRESS_SPECIFIED', 'PIF_IS_MANAGEMENT_INTERFACE', 'PIF_ALREADY_BONDED', 'PIF_CONFIGURATION_ERROR'],
      role: 'pool-operator',
      async: true,
    }),
    message('introduce', {
      doc: 'Makes a PIF for a network card of a host that has none',
      params: [
        param('host', t.ref('host'), 'The host with the card'),
        param('MAC', t.string, 'The card\'s hardware address (empty: the card\'s own)'),
        param('device', t.string, 'The card\'s name, such as eth1'),
        param('managed', t.bool, 'Whether the toolstack manages the interface', true),
      ],
      result: t.ref('PIF'),
      resultDoc: 'The new PIF',
      errors: ['MAC_INVALID', 'DUPLICATE_PIF_DEVICE_NAME', 'COULD_NOT_FIND_NETWORK_INTERFACE_WITH_SPECIFIED_DEVICE_NAME_AND_MAC_ADDRESS'],
      role: 'pool-operator',
      async: true,
    }),
    message('forget', {
      doc: 'Removes a PIF record; the card stays, and a scan finds it again',
      params: [
        param('self', t.ref('PIF'), 'The PIF'),
      ],
      errors: ['PIF_IS_MANAGEMENT_INTERFACE', 'PIF_ALREADY_BONDED', 'PIF_VLAN_STILL_EXISTS'],
      role: 'pool-operator',
      async: true,
    }),
    message('scan', {
      doc: 'Finds network cards of a host that have no PIF yet',
      params: [
        param('host', t.ref('host'), 'The host to scan'),
      ],
      role: 'pool-operator',
      async: true,
    }),
  ],
});
