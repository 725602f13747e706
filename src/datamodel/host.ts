/**
 * @module
 * A host: one physical server of the pool, its software, capabilities and the VMs it runs.
 * Holds the calls that enable, evacuate, reboot and restart a host.
 */
import { createNewBlob } from './blob.js';
import { cls, ctor, inverse, message, param, runtime, rw, t } from './dsl.js';
import { hostAdminMessages } from './host-admin-messages.js';
import { hostDomainMessages } from './host-domain-messages.js';
import { hostDataSourceMessages } from './data-source.js';
import { hostAllowedOperations, hostDisplay, hostNumaAffinityPolicy, latestSyncedUpdatesAppliedState, updateGuidances } from './enums.js';

export const host = cls('host', {
  doc: 'A physical server that runs VMs and belongs to the pool',
  writeRole: 'pool-operator',
  fields: [
    rw('name_label', t.string, 'Short name of the host'),
    rw('name_description', t.string, 'Longer description of the host'),
    runtime('memory_overhead', t.int, 'Memory used by the hypervisor itself, in bytes'),
    runtime('allowed_operations', t.set(t.enum(hostAllowedOperations)), 'Operations that may be started on this object now'),
    runtime('current_operations', t.map(t.string, t.enum(hostAllowedOperations)), 'Operations running on this object, keyed by the task that runs them'),
    runtime('API_version_major', t.int, 'Major XenAPI version the host speaks'),
    runtime('API_version_minor', t.int, 'Minor XenAPI version the host speaks'),
    runtime('API_version_vendor', t.string, 'Who implemented the API on this host'),
    runtime('API_version_vendor_implementation', t.smap, 'Details of the API implementation'),
    runtime('enabled', t.bool, 'False while the host accepts no new VMs, for maintenance'),
    ctor('software_version', t.smap, 'Versions of the installed software, such as product_version and build_number'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
    ctor('capabilities', t.set(t.string), 'Guest types the hypervisor can run'),
    runtime('cpu_configuration', t.smap, 'How the physical CPUs are set up'),
    runtime('sched_policy', t.string, 'The hypervisor scheduler in use'),
    runtime('supported_bootloaders', t.set(t.string), 'Bootloaders available for PV guests'),
    inverse('resident_VMs', 'VM', 'resident_on', 'VMs currently running on this host'),
    rw('logging', t.smap, 'Where and how the host sends its logs'),
    inverse('PIFs', 'PIF', 'host', 'The host\'s network interfaces'),
    rw('suspend_image_sr', t.ref('SR'), 'SR for memory images of VMs suspended on this host'),
    rw('crash_dump_sr', t.ref('SR'), 'SR for crash dumps of this host\'s VMs'),
    runtime('crashdumps', t.set(t.ref('host_crashdump')), 'Crash dumps of the host\'s own software'),
    inverse('patches', 'host_patch', 'host', 'Hotfixes known on this host, applied or not'),
    runtime('updates', t.set(t.ref('pool_update')), 'Updates installed on this host'),
    inverse('PBDs', 'PBD', 'host', 'Connections from this host to storage repositories'),
    inverse('host_CPUs', 'host_cpu', 'host', 'The host\'s physical CPUs'),
    runtime('cpu_info', t.smap, 'CPU model, count and feature flags'),
    rw('hostname', t.string, 'Network name of the host'),
    rw('address', t.string, 'Address other hosts and clients reach the host at'),
    runtime('metrics', t.ref('host_metrics'), 'Live measurements of the host'),
    runtime('license_params', t.smap, 'Facts from the host\'s licence'),
    runtime('ha_statefiles', t.set(t.string), 'The HA state files this host uses'),
    runtime('ha_network_peers', t.set(t.string), 'Hosts this host can see over the HA heartbeat network'),
    runtime('blobs', t.map(t.string, t.ref('blob')), 'Named binary objects attached to this object'),
    rw('tags', t.set(t.string), 'Labels users attach to group and find objects', { writeRole: 'vm-operator' }),
    runtime('external_auth_type', t.string, 'Kind of directory used for logins, or empty'),
    runtime('external_auth_service_name', t.string, 'Name of the directory service, such as a domain'),
    runtime('external_auth_configuration', t.smap, 'Settings of the directory connection'),
    runtime('edition', t.string, 'Product edition the host is licensed for'),
    rw('license_server', t.smap, 'Where the licence server is', { default: { address: 'localhost', port: '27000' } }),
    runtime('bios_strings', t.smap, 'BIOS identification strings of the machine'),
    runtime('power_on_mode', t.string, 'How the host can be powered on remotely, if at all'),
    runtime('power_on_config', t.smap, 'Settings for remote power-on'),
    ctor('local_cache_sr', t.ref('SR'), 'SR used to cache VM disks locally'),
    runtime('chipset_info', t.smap, 'Chipset facts such as IOMMU support'),
    runtime('PCIs', t.set(t.ref('PCI')), 'PCI devices of the host'),
    runtime('PGPUs', t.set(t.ref('PGPU')), 'Physical GPUs of the host'),
    runtime('PUSBs', t.set(t.ref('PUSB')), 'Physical USB devices of the host'),
    ctor('ssl_legacy', t.bool, 'Whether old TLS versions are accepted (obsolete)', { default: true }),
    rw('guest_VCPUs_params', t.smap, 'Default VCPU settings for guests on this host'),
    rw('display', t.enum(hostDisplay), 'Whether the host\'s console shows the control domain'),
    runtime('virtual_hardware_platform_versions', t.set(t.int), 'Virtual hardware versions this host can offer VMs', { default: [0] }),
    runtime('control_domain', t.ref('VM'), 'The control domain (dom0) VM of this host'),
    runtime('updates_requiring_reboot', t.set(t.ref('pool_update')), 'Installed updates that take effect only after a reboot'),
    runtime('features', t.set(t.ref('Feature')), 'Optional features and whether they are on'),
    ctor('iscsi_iqn', t.string, 'The host\'s iSCSI initiator name'),
    ctor('multipathing', t.bool, 'Whether storage multipathing is on'),
    ctor('uefi_certificates', t.string, 'UEFI certificates of the host (obsolete)'),
    inverse('certificates', 'Certificate', 'host', 'TLS certificates installed on the host'),
    runtime('editions', t.set(t.string), 'Editions the host could be licensed for'),
    runtime('pending_guidances', t.set(t.enum(updateGuidances)), 'Actions still needed for installed updates to take effect'),
    runtime('tls_verification_enabled', t.bool, 'Whether this host checks pool peers\' certificates'),
    runtime('last_software_update', t.datetime, 'When software was last installed on the host'),
    runtime('https_only', t.bool, 'Whether plain HTTP is refused'),
    runtime('latest_synced_updates_applied', t.enum(latestSyncedUpdatesAppliedState), 'Whether the latest synchronised updates are all installed', { default: 'unknown' }),
    runtime('numa_affinity_policy', t.enum(hostNumaAffinityPolicy), 'How VM memory is placed on NUMA nodes', { default: 'default_policy' }),
    runtime('pending_guidances_recommended', t.set(t.enum(updateGuidances)), 'Advised but not required actions for installed updates'),
    runtime('pending_guidances_full', t.set(t.enum(updateGuidances)), 'Every action still pending for installed updates'),
    runtime('last_update_hash', t.string, 'Identifier of the update set last applied'),
  ],
  messages: [
    message('disable', {
      doc: 'Stops new VMs from starting on the host, usually before maintenance',
      params: [
        param('host', t.ref('host'), 'The host to disable'),
      ],
      roles: ['pool-admin', 'pool-operator', 'client-cert'],
      async: true,
    }),
    message('enable', {
      doc: 'Lets VMs start on the host again',
      params: [
        param('host', t.ref('host'), 'The host to enable'),
      ],
      roles: ['pool-admin', 'pool-operator', 'client-cert'],
      async: true,
    }),
    message('shutdown', {
      doc: 'Powers the host off; it must be disabled and run no VMs',
      params: [
        param('host', t.ref('host'), 'The host to power off'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('reboot', {
      doc: 'Restarts the host; it must be disabled and run no VMs',
      params: [
        param('host', t.ref('host'), 'The host to restart'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('dmesg', {
      doc: 'Returns the hypervisor\'s message buffer',
      params: [
        param('host', t.ref('host'), 'The host to ask'),
      ],
      result: t.string,
      resultDoc: 'The buffer text',
      role: 'pool-operator',
      async: true,
    }),
    message('islet_diagnostics', {
      doc: 'Reports figures of the host\'s own toolstack process: call timings (kind timing), heap and garbage collections (gc, or compact to run a full collection first) or its copy of the database (db)',
      params: [
        param('host', t.ref('host'), 'The host whose toolstack reports'),
        param('kind', t.string, 'timing, gc, compact or db'),
      ],
      result: t.smap,
      resultDoc: 'The figures, by name',
      role: 'pool-operator',
    }),
    message('islet_log_set_output', {
      doc: 'Sends the lines the host\'s toolstack logs under a key (every key when key is empty), from a level up (every level when empty), to an output: nil, stderr, string (only the recent log host.get_log returns), syslog[:facility] or file:<file in the host\'s log directory>',
      params: [
        param('host', t.ref('host'), 'The host whose toolstack logs'),
        param('output', t.string, 'Where the lines go'),
        param('key', t.string, 'A logging key (islet_log_get_keys), or empty for every key'),
        param('level', t.string, 'debug, info, warn or error: the lowest level sent; empty for every level'),
      ],
      role: 'pool-admin',
    }),
    message('islet_log_get_keys', {
      doc: 'Lists the keys the host\'s toolstack logs under',
      params: [
        param('host', t.ref('host'), 'The host whose toolstack logs'),
      ],
      result: t.set(t.string),
      resultDoc: 'The keys, sorted',
      role: 'read-only',
    }),
    message('islet_log_reopen', {
      doc: 'Closes and opens again every log file the host\'s toolstack writes, as after the files were rotated',
      params: [
        param('host', t.ref('host'), 'The host whose toolstack logs'),
      ],
      role: 'pool-operator',
    }),
    message('get_log', {
      doc: 'Returns the recent log of the host\'s toolstack',
      params: [
        param('host', t.ref('host'), 'The host to ask'),
      ],
      result: t.string,
      resultDoc: 'The log text',
      role: 'read-only',
      async: true,
    }),
    message('power_on', {
      doc: 'Powers a host on through its configured remote power-on method',
      params: [
        param('host', t.ref('host'), 'The host to power on'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('list_methods', {
      doc: 'Lists every call the API offers',
      result: t.set(t.string),
      resultDoc: 'Call names',
      role: 'read-only',
    }),
    message('destroy', {
      doc: 'Removes a host that is gone for good from the pool database',
      params: [
        param('self', t.ref('host'), 'The host to forget'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('restart_agent', {
      doc: 'Restarts the toolstack on the host; running VMs are not affected',
      params: [
        param('host', t.ref('host'), 'The host whose toolstack restarts'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('shutdown_agent', {
      doc: 'Stops the toolstack on the host called; running VMs are not affected',
      role: 'pool-operator',
    }),
    message('assert_can_evacuate', {
      doc: 'Fails unless every VM on the host could be moved elsewhere',
      params: [
        param('host', t.ref('host'), 'The host to check'),
      ],
      role: 'pool-operator',
      async: true,
    }),
    message('get_vms_which_prevent_evacuation', {
      doc: 'Lists the VMs that could not be moved off the host, with the reason for each',
      params: [
        param('self', t.ref('host'), 'The host to check'),
      ],
      result: t.map(t.ref('VM'), t.set(t.string)),
      resultDoc: 'For each blocking VM, an error code and its parameters',
      role: 'read-only',
      async: true,
    }),
    message('evacuate', {
      doc: 'Moves every running VM off the host, live, to other members',
      params: [
        param('host', t.ref('host'), 'The host to empty'),
        param('network', t.ref('network'), 'Network to migrate over; null for the management network', 'OpaqueRef:NULL'),
        param('evacuate_batch_size', t.int, 'How many VMs move at once; 0 for the default', 0),
      ],
      roles: ['pool-admin', 'pool-operator', 'client-cert'],
      async: true,
    }),
    message('get_servertime', {
      doc: 'Returns the host\'s clock in UTC',
      params: [
        param('host', t.ref('host'), 'The host to ask'),
      ],
      result: t.datetime,
      resultDoc: 'The current time',
      role: 'read-only',
    }),
    message('get_server_localtime', {
      doc: 'Returns the host\'s clock in its local time zone',
      params: [
        param('host', t.ref('host'), 'The host to ask'),
      ],
      result: t.datetime,
      resultDoc: 'The current local time',
      role: 'read-only',
    }),
    message('call_plugin', {
      doc: 'Runs a function of a plugin installed on the host',
      params: [
        param('host', t.ref('host'), 'The host to run it on'),
        param('plugin', t.string, 'Name of the plugin'),
        param('fn', t.string, 'Function within the plugin'),
        param('args', t.smap, 'Arguments for the function'),
      ],
      result: t.string,
      resultDoc: 'Whatever the plugin returns',
      errors: ['XENAPI_MISSING_PLUGIN'],
      role: 'pool-admin',
      async: true,
    }),
    message('has_extension', {
      doc: 'Tells whether an API extension is installed on the host',
      params: [
        param('host', t.ref('host'), 'The host to ask'),
        param('name', t.string, 'Name of the extension'),
      ],
      result: t.bool,
      resultDoc: 'True when it is',
      role: 'pool-admin',
      async: true,
    }),
    message('compute_free_memory', {
      doc: 'Works out how much memory is free for new VMs on the host',
      params: [
        param('host', t.ref('host'), 'The host to ask'),
      ],
      result: t.int,
      resultDoc: 'Free memory in bytes',
      role: 'read-only',
      async: true,
    }),
    message('compute_memory_overhead', {
      doc: 'Works out the memory the host needs for its own use',
      params: [
        param('host', t.ref('host'), 'The host to ask'),
      ],
      result: t.int,
      resultDoc: 'Overhead in bytes',
      role: 'read-only',
      async: true,
    }),
    message('get_management_interface', {
      doc: 'Returns the interface the host is managed through',
      params: [
        param('host', t.ref('host'), 'The host to ask'),
      ],
      result: t.ref('PIF'),
      resultDoc: 'The management interface',
      role: 'pool-operator',
      async: true,
    }),
    message('management_reconfigure', {
      doc: 'Moves the host\'s management to another of its interfaces, which must have an address',
      params: [
        param('pif', t.ref('PIF'), 'The interface to manage the host through'),
      ],
      errors: ['PIF_HAS_NO_NETWORK_CONFIGURATION', 'PIF_CONFIGURATION_ERROR', 'PIF_ALREADY_BONDED'],
      role: 'pool-operator',
      async: true,
    }),
    message('get_server_certificate', {
      doc: 'Returns the TLS certificate the host serves the API with',
      params: [
        param('host', t.ref('host'), 'The host to ask'),
      ],
      result: t.string,
      resultDoc: 'The certificate in PEM form',
      role: 'read-only',
      async: true,
    }),
    createNewBlob('host', 'host', 'pool-operator'),
    ...hostDomainMessages,
    ...hostAdminMessages,
    ...hostDataSourceMessages,
  ],
});
