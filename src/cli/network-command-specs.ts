/**
 * @module
 * xe's network commands for the command table: networks, VIFs, PIFs, VLANs, bonds and
 * the management interface (implementations in `commands/network-commands.ts`). The
 * `-list` and `-param-*` commands of each class come from the records.
 */
import type { CommandModule } from './command-context.js';
import type { CommandSpec } from './command-table.js';

type Commands = typeof import('./commands/network-commands.js');

function spec(name: string, reqd: string[], optn: string[], help: string, pick: (m: Commands) => CommandModule): CommandSpec {
  return { name, reqd, optn, help, flags: ['standard'], load: async () => pick(await import('./commands/network-commands.js')) };
}

export const NETWORK_COMMANDS: readonly CommandSpec[] = [
  spec('network-create', ['name-label'], ['name-description', 'MTU', 'other-config:', 'bridge'],
    'Create a new network. Prints its UUID.', (m) => m.networkCreate),
  spec('network-destroy', ['uuid'], [], 'Delete an existing network.', (m) => m.networkDestroy),
  spec('vif-create', ['device', 'network-uuid', 'vm-uuid'], ['mac', 'other-config:'],
    'Create a VIF (mac=random or none: one is made from the VM\'s seed). Prints its UUID.', (m) => m.vifCreate),
  spec('vif-destroy', ['uuid'], [], 'Destroy a VIF.', (m) => m.vifDestroy),
  spec('vif-plug', ['uuid'], [], 'Attempt to attach the VIF while the VM is in the running state.', (m) => m.vifPlug),
  spec('vif-unplug', ['uuid'], ['force'], 'Attempt to detach the VIF from the VM while it is running.', (m) => m.vifUnplug),
  spec('vif-move', ['uuid', 'network-uuid'], [], 'Move the VIF to another network.', (m) => m.vifMove),
  spec('pif-reconfigure-ip', ['uuid', 'mode'], ['IP', 'netmask', 'gateway', 'DNS'],
    'Reconfigure the IP address settings on a PIF (mode=none, dhcp or static).', (m) => m.pifReconfigureIp),
  spec('pif-plug', ['uuid'], [], 'Attempt to bring up a network interface.', (m) => m.pifPlug),
  spec('pif-unplug', ['uuid'], [], 'Attempt to bring down a network interface.', (m) => m.pifUnplug),
  spec('pif-scan', ['host-uuid'], [], 'Scan for new physical interfaces on the host.', (m) => m.pifScan),
  spec('pif-introduce', ['host-uuid', 'device'], ['mac', 'managed'],
    'Create a new PIF object representing a physical interface on a host. Prints its UUID.', (m) => m.pifIntroduce),
  spec('pif-forget', ['uuid'], [], 'Destroy a PIF object on a particular host.', (m) => m.pifForget),
  spec('vlan-create', ['pif-uuid', 'vlan', 'network-uuid'], [],
    'Create a new VLAN on a host. Prints the UUID of the VLAN\'s PIF.', (m) => m.vlanCreate),
  spec('pool-vlan-create', ['pif-uuid', 'vlan', 'network-uuid'], [],
    'Create a new VLAN on every host of the pool, on the device of the given PIF. Prints the new PIFs\' UUIDs.', (m) => m.poolVlanCreate),
  spec('vlan-destroy', ['uuid'], [], 'Destroy a VLAN (uuid= of its PIF, or of the VLAN).', (m) => m.vlanDestroy),
  spec('bond-create', ['network-uuid', 'pif-uuids'], ['mac', 'mode', 'properties:'],
    'Create a bonded network interface on the network from a list of PIFs. Prints the bond\'s UUID.', (m) => m.bondCreate),
  spec('bond-destroy', ['uuid'], [], 'Destroy a bonded interface; its primary member takes back the configuration.', (m) => m.bondDestroy),
  spec('bond-set-mode', ['uuid', 'mode'], [], 'Change the bond mode (balance-slb, active-backup or lacp).', (m) => m.bondSetMode),
  spec('host-management-reconfigure', ['pif-uuid'], [],
    'Reconfigure the management interface of this host to use the given PIF, which must have an IP address.', (m) => m.hostManagementReconfigure),
];
