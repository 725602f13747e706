/**
 * @module
 * The host administration messages XenServer 6.0.2 clients call beyond the everyday ones
 * (`host.ts`): the host's name and syslog, the management interface, remote power-on, the
 * hypervisor's debug keys, RRD backups, local storage caching, CPU feature masks, the
 * status-report capabilities and upload, external authentication and workload balancing
 * advice. Kept apart so that `host.ts` stays the class's shape.
 */
import { message, param, t } from './dsl.js';

const host = param('host', t.ref('host'), 'The host concerned');

export const hostAdminMessages = [
  message('set_hostname_live', {
    doc: 'Renames the host on the network at once, without a restart',
    params: [host, param('hostname', t.string, 'The new name: letters, digits, dots and inner hyphens')],
    errors: ['HOST_NAME_INVALID'],
    role: 'pool-operator',
    async: true,
  }),
  message('syslog_reconfigure', {
    doc: 'Makes the host send its log as its logging field now says (syslog_destination: a remote syslog server)',
    params: [host],
    role: 'pool-operator',
    async: true,
  }),
  message('get_system_status_capabilities', {
    doc: 'Describes, as XML, which parts a status report of the host can hold',
    params: [host],
    result: t.string,
    resultDoc: 'The capabilities, one XML element each',
    role: 'read-only',
    async: true,
  }),
  message('management_disable', {
    doc: 'Stops managing the called host through any of its network interfaces',
    role: 'pool-operator',
  }),
  message('local_management_reconfigure', {
    doc: 'Moves the called host\'s management to an interface by name; only for a member cut off from its master',
    params: [param('interface', t.string, 'The interface or bridge name')],
    role: 'pool-operator',
  }),
  message('set_power_on_mode', {
    doc: 'Chooses how the host is powered on remotely, with the settings that method needs',
    params: [
      param('self', t.ref('host'), 'The host concerned'),
      param('power_on_mode', t.string, 'Empty (off), wake-on-lan, DRAC or the name of a power-on plugin'),
      param('power_on_config', t.smap, 'Settings for that method'),
    ],
    role: 'pool-operator',
    async: true,
  }),
  message('dmesg_clear', {
    doc: 'Returns the hypervisor\'s message buffer and empties it',
    params: [host],
    result: t.string,
    resultDoc: 'The buffer text',
    role: 'pool-operator',
    async: true,
  }),
  message('send_debug_keys', {
    doc: 'Presses debug keys on the hypervisor\'s console; what they print lands in its message buffer',
    params: [host, param('keys', t.string, 'The keys, one character each')],
    role: 'pool-admin',
    async: true,
  }),
  message('sync_data', {
    doc: 'Brings the host\'s copy of the pool\'s non-database data up to date',
    params: [host],
    role: 'pool-admin',
    async: true,
  }),
  message('backup_rrds', {
    doc: 'Saves the host\'s performance archives after a delay',
    params: [host, param('delay', t.float, 'Seconds to wait first')],
    role: 'pool-admin',
    async: true,
  }),
  message('refresh_pack_info', {
    doc: 'Reads again which supplemental packs are installed on the host',
    params: [host],
    role: 'pool-operator',
    async: true,
  }),
  message('get_uncooperative_resident_VMs', {
    doc: 'Lists the host\'s VMs that ignore its memory controller (obsolete)',
    params: [param('self', t.ref('host'), 'The host concerned')],
    result: t.set(t.ref('VM')),
    resultDoc: 'Those VMs',
    role: 'read-only',
    async: true,
  }),
  message('enable_local_storage_caching', {
    doc: 'Caches VM disks in one of the host\'s local SRs; the host must be disabled and run no guests',
    params: [host, param('sr', t.ref('SR'), 'A local SR whose driver can cache')],
    role: 'pool-operator',
    async: true,
  }),
  message('disable_local_storage_caching', {
    doc: 'Stops caching VM disks locally; the host must be disabled and run no guests',
    params: [host],
    role: 'pool-operator',
    async: true,
  }),
  message('set_cpu_features', {
    doc: 'Masks the CPU features guests see from the next boot of the host on',
    params: [host, param('features', t.string, 'The feature words, as cpu_info shows them')],
    role: 'pool-operator',
    async: true,
  }),
  message('reset_cpu_features', {
    doc: 'Removes the CPU feature mask from the next boot of the host on',
    params: [host],
    role: 'pool-operator',
    async: true,
  }),
  message('emergency_ha_disable', {
    doc: 'Turns HA off on the called host alone, whatever the rest of the pool thinks',
    params: [param('soft', t.bool, 'Leave fencing to the HA daemon', false)],
    role: 'pool-operator',
  }),
  message('bugreport_upload', {
    doc: 'Collects a status report of the host and uploads it to a URL',
    params: [host, param('url', t.string, 'Where to upload it (http or https)'), param('options', t.smap, 'http_proxy: a proxy to use')],
    role: 'pool-operator',
    async: true,
  }),
  message('retrieve_wlb_evacuate_recommendations', {
    doc: 'Asks workload balancing where each VM of the host should go to empty it',
    params: [param('self', t.ref('host'), 'The host to empty')],
    result: t.map(t.ref('VM'), t.set(t.string)),
    resultDoc: 'Per VM, WLB and a host uuid, or an error code and its parameters',
    role: 'read-only',
    async: true,
  }),
  message('enable_external_auth', {
    doc: 'Lets users of a directory service log in to the host',
    params: [
      host,
      param('config', t.smap, 'Settings for the directory, such as credentials'),
      param('service_name', t.string, 'The directory, such as a domain name'),
      param('auth_type', t.string, 'The kind of directory, such as AD'),
    ],
    role: 'pool-admin',
  }),
  message('disable_external_auth', {
    doc: 'Stops directory logins on the host',
    params: [host, param('config', t.smap, 'Settings for leaving the directory')],
    role: 'pool-admin',
  }),
  // Pool CA certificates and CRLs: what pool.certificate_install and friends make every
  // host hold (the master forwards them through the pool link). Hidden, as xapi's are.
  message('islet_ca_list', {
    doc: 'Islet internal: names of the CA certificates (kind certificate) or CRLs (kind crl) this host holds',
    params: [host, param('kind', t.string, 'certificate or crl')],
    result: t.set(t.string),
    resultDoc: 'The names',
    role: 'pool-admin',
    internal: true,
  }),
  message('islet_ca_install', {
    doc: 'Islet internal: stores a CA certificate or CRL on this host',
    params: [host, param('kind', t.string, 'certificate or crl'), param('name', t.string, 'Its file name'), param('cert', t.string, 'Its PEM text')],
    role: 'pool-admin',
    internal: true,
  }),
  message('islet_ca_uninstall', {
    doc: 'Islet internal: removes a CA certificate or CRL from this host',
    params: [host, param('kind', t.string, 'certificate or crl'), param('name', t.string, 'Its file name')],
    role: 'pool-admin',
    internal: true,
  }),
  message('islet_ca_get', {
    doc: 'Islet internal: the PEM text of a CA certificate or CRL this host holds',
    params: [host, param('kind', t.string, 'certificate or crl'), param('name', t.string, 'Its file name')],
    result: t.string,
    resultDoc: 'The PEM text',
    role: 'pool-admin',
    internal: true,
  }),
];
