/**
 * @module
 * xe's host and pool administration commands of XenServer 6.0.2 beyond the everyday ones:
 * the host's live name and syslog, the management interface, power-on, debug keys, data
 * sync, local storage caching, CPU masks, status reports, HA's emergency switch, pool CA
 * certificates and CRLs, workload balancing, external authentication, the redo log and the
 * vSwitch controller. Names, parameters and selector flags are those of xapi's
 * cli_frontend.ml for 6.0.2.
 */
import type { CommandSpec } from './command-table.js';

const load = () => import('./commands/host-602-admin.js');

export const HOST_602_COMMANDS: readonly CommandSpec[] = [
  { name: 'host-set-hostname-live', reqd: ['host-uuid', 'host-name'], optn: [], help: 'Sets the host name to the specified string.', load },
  { name: 'host-syslog-reconfigure', reqd: ['host-uuid'], optn: [], help: 'Reconfigure syslog daemon (from the host\'s logging field).', load },
  { name: 'host-management-disable', reqd: [], optn: [], flags: ['local'], help: 'Disable the management interface.', load },
  { name: 'host-emergency-management-reconfigure', reqd: ['interface'], optn: [], flags: ['local'],
    help: 'Reconfigure the management interface of this node: only use if the node is in emergency mode.', load },
  { name: 'host-set-power-on-mode', reqd: ['power-on-mode'], optn: ['power-on-config:'], flags: ['host-selectors'],
    help: 'Sets the power-on mode for the XE host: "" (off), "wake-on-lan", "DRAC" or a custom plugin, with power-on-config:<key>=<value> settings.', load },
  { name: 'host-send-debug-keys', reqd: ['host-uuid', 'keys'], optn: [], help: 'Send specified hypervisor debug keys to specified host.', load },
  { name: 'host-sync-data', reqd: [], optn: [], flags: ['host-selectors'], help: 'Synchronise the non-database data stored on the pool master with the named XE host.', load },
  { name: 'host-enable-local-storage-caching', reqd: ['sr-uuid'], optn: [], flags: ['host-selectors'], help: 'Enable local storage caching on the specified host.', load },
  { name: 'host-disable-local-storage-caching', reqd: [], optn: [], flags: ['host-selectors'], help: 'Disable local storage caching on the specified host.', load },
  { name: 'pool-enable-local-storage-caching', reqd: ['uuid'], optn: [], help: 'Enable local storage caching across the pool.', load },
  { name: 'pool-disable-local-storage-caching', reqd: ['uuid'], optn: [], help: 'Disable local storage caching across the pool.', load },
  { name: 'host-get-system-status-capabilities', reqd: [], optn: [], flags: ['host-selectors'], help: 'Get information about the status-report capabilities of the host.', load },
  { name: 'host-bugreport-upload', reqd: [], optn: ['url', 'http_proxy'], flags: ['host-selectors'], help: 'Upload the output of a status report to a URL.', load },
  { name: 'host-set-cpu-features', reqd: ['features'], optn: ['uuid'], help: 'Attempts to mask the host\'s physical-CPU features to match the given features.', load },
  { name: 'host-reset-cpu-features', reqd: [], optn: ['uuid'], help: 'Removes the feature mask of the host\'s physical CPU.', load },
  { name: 'host-emergency-ha-disable', reqd: [], optn: ['force'], flags: ['local'], help: 'Disable HA on the local host. Only to be used to recover a pool with a broken HA setup.', load },
  { name: 'host-retrieve-wlb-evacuate-recommendations', reqd: ['uuid'], optn: [], help: 'Retrieves recommended host migrations to perform when evacuating the host from the WLB server.', load },
  { name: 'pool-certificate-install', reqd: ['filename'], optn: [], help: 'Install a TLS CA certificate, pool-wide.', load },
  { name: 'pool-certificate-uninstall', reqd: ['name'], optn: [], help: 'Uninstall a pool-wide TLS CA certificate.', load },
  { name: 'pool-certificate-list', reqd: [], optn: [], help: 'List all installed TLS CA certificates.', load },
  { name: 'pool-certificate-sync', reqd: [], optn: [], help: 'Sync TLS CA certificates and CRLs from the master to the slaves.', load },
  { name: 'pool-crl-install', reqd: ['filename'], optn: [], help: 'Install a TLS CA-issued Certificate Revocation List, pool-wide.', load },
  { name: 'pool-crl-uninstall', reqd: ['name'], optn: [], help: 'Uninstall a pool-wide TLS CA-issued Certificate Revocation List.', load },
  { name: 'pool-crl-list', reqd: [], optn: [], help: 'List all installed TLS CA-issued Certificate Revocation Lists.', load },
  { name: 'pool-initialize-wlb', reqd: ['wlb_url', 'wlb_username', 'wlb_password', 'xenserver_username', 'xenserver_password'], optn: [],
    help: 'Initialize workload balancing for the current pool with the target WLB server.', load },
  { name: 'pool-deconfigure-wlb', reqd: [], optn: [], help: 'Permanently remove the configuration for workload balancing.', load },
  { name: 'pool-send-wlb-configuration', reqd: [], optn: ['config:'], help: 'Sets the pool optimization criteria for the workload balancing server.', load },
  { name: 'pool-retrieve-wlb-configuration', reqd: [], optn: [], help: 'Retrieves the pool optimization criteria from the workload balancing server.', load },
  { name: 'pool-retrieve-wlb-recommendations', reqd: [], optn: [], help: 'Retrieves VM migrate recommendations for the pool from the workload balancing server.', load },
  { name: 'pool-send-test-post', reqd: ['dest-host', 'dest-port', 'body'], optn: [], help: 'Send the given body to the given host and port, using HTTPS, and print the response.', load },
  { name: 'pool-enable-external-auth', reqd: ['auth-type', 'service-name'], optn: ['uuid', 'config:'], help: 'Enables external authentication in all the hosts in a pool.', load },
  { name: 'pool-disable-external-auth', reqd: [], optn: ['uuid', 'config:'], help: 'Disables external authentication in all the hosts in a pool.', load },
  { name: 'pool-enable-redo-log', reqd: ['sr-uuid'], optn: [], help: 'Enable the redo log on the given SR and start using it, unless HA is enabled.', load },
  { name: 'pool-disable-redo-log', reqd: [], optn: [], help: 'Disable the redo log if in use, unless HA is enabled.', load },
  { name: 'pool-set-vswitch-controller', reqd: ['address'], optn: [], flags: ['hidden'], help: 'Set the IP address of the vswitch controller.', load },
];
