/**
 * @module
 * Pool-wide administration messages of XenServer 6.0.2 beyond membership and HA: CA
 * certificates and CRLs every host trusts, workload balancing, external authentication,
 * HA planning, the redo log, the vSwitch controller, archive targets and local storage
 * caching. Kept apart so that `pool.ts` stays the class's shape.
 */
import { message, param, t } from './dsl.js';

const pool = (name: string) => param(name, t.ref('pool'), 'The pool');
const caName = param('name', t.string, 'Its file name: letters, digits, dots, hyphens and underscores, ending .pem');

export const poolAdminMessages = [
  message('certificate_install', {
    doc: 'Makes every host of the pool trust a CA certificate',
    params: [caName, param('cert', t.string, 'The certificate, PEM encoded')],
    role: 'pool-operator',
    async: true,
  }),
  message('certificate_uninstall', {
    doc: 'Makes every host of the pool stop trusting a CA certificate',
    params: [caName],
    role: 'pool-operator',
    async: true,
  }),
  message('certificate_list', {
    doc: 'Lists the CA certificates the pool trusts',
    result: t.set(t.string),
    resultDoc: 'Their names',
    role: 'pool-operator',
    async: true,
  }),
  message('crl_install', {
    doc: 'Gives every host of the pool a certificate revocation list',
    params: [caName, param('cert', t.string, 'The revocation list, PEM encoded')],
    role: 'pool-operator',
    async: true,
  }),
  message('crl_uninstall', {
    doc: 'Removes a certificate revocation list from every host of the pool',
    params: [caName],
    role: 'pool-operator',
    async: true,
  }),
  message('crl_list', {
    doc: 'Lists the certificate revocation lists the pool holds',
    result: t.set(t.string),
    resultDoc: 'Their names',
    role: 'pool-operator',
    async: true,
  }),
  message('initialize_wlb', {
    doc: 'Registers the pool with a workload balancing server',
    params: [
      param('wlb_url', t.string, 'The server, as host:port'),
      param('wlb_username', t.string, 'User on the server'),
      param('wlb_password', t.string, 'That user\'s password'),
      param('xenserver_username', t.string, 'User the server logs in to the pool as'),
      param('xenserver_password', t.string, 'That user\'s password'),
    ],
    role: 'pool-operator',
    async: true,
  }),
  message('deconfigure_wlb', {
    doc: 'Unregisters the pool from its workload balancing server for good',
    role: 'pool-operator',
    async: true,
  }),
  message('send_wlb_configuration', {
    doc: 'Sends the pool\'s optimisation settings to its workload balancing server',
    params: [param('config', t.smap, 'The settings')],
    role: 'pool-operator',
    async: true,
  }),
  message('retrieve_wlb_configuration', {
    doc: 'Reads the pool\'s optimisation settings from its workload balancing server',
    result: t.smap,
    resultDoc: 'The settings',
    role: 'read-only',
    async: true,
  }),
  message('retrieve_wlb_recommendations', {
    doc: 'Asks the workload balancing server which VMs to move where',
    result: t.map(t.ref('VM'), t.set(t.string)),
    resultDoc: 'Per VM, the advice',
    role: 'read-only',
    async: true,
  }),
  message('send_test_post', {
    doc: 'Posts a body to a server over HTTPS and returns its answer, to debug a connection',
    params: [param('host', t.string, 'The server\'s address'), param('port', t.int, 'Its port'), param('body', t.string, 'What to post')],
    result: t.string,
    resultDoc: 'The server\'s answer',
    role: 'pool-admin',
    async: true,
  }),
  message('enable_external_auth', {
    doc: 'Lets users of a directory service log in to every host of the pool',
    params: [
      pool('pool'),
      param('config', t.smap, 'Settings for the directory, such as credentials'),
      param('service_name', t.string, 'The directory, such as a domain name'),
      param('auth_type', t.string, 'The kind of directory, such as AD'),
    ],
    role: 'pool-admin',
  }),
  message('disable_external_auth', {
    doc: 'Stops directory logins on every host of the pool',
    params: [pool('pool'), param('config', t.smap, 'Settings for leaving the directory')],
    role: 'pool-admin',
  }),
  message('detect_nonhomogeneous_external_auth', {
    doc: 'Starts a check, in the background, that every host uses the master\'s directory settings',
    params: [pool('pool')],
    role: 'pool-operator',
  }),
  message('ha_failover_plan_exists', {
    doc: 'Tells whether the protected VMs could all be restarted after n host failures',
    params: [param('n', t.int, 'Number of host failures')],
    result: t.bool,
    resultDoc: 'True when a plan exists',
    role: 'pool-operator',
  }),
  message('ha_compute_hypothetical_max_host_failures_to_tolerate', {
    doc: 'Works out how many host failures the pool could survive if the given VMs were protected as given',
    params: [param('configuration', t.map(t.ref('VM'), t.string), 'Restart priority per VM')],
    result: t.int,
    resultDoc: 'The largest number of failures a plan exists for',
    role: 'read-only',
  }),
  message('ha_compute_vm_failover_plan', {
    doc: 'Works out where the given VMs would restart if the given hosts failed',
    params: [
      param('failed_hosts', t.set(t.ref('host')), 'The hosts assumed failed'),
      param('failed_vms', t.set(t.ref('VM')), 'The VMs to restart'),
    ],
    result: t.map(t.ref('VM'), t.smap),
    resultDoc: 'Per VM, host (where it would restart) or error_code',
    role: 'pool-operator',
  }),
  message('ha_prevent_restarts_for', {
    doc: 'Holds HA\'s VM restarts back for a number of seconds (0 lets them go at once)',
    params: [param('seconds', t.int, 'How long')],
    role: 'pool-operator',
  }),
  message('enable_redo_log', {
    doc: 'Also writes the pool database to a redo log on an SR',
    params: [param('sr', t.ref('SR'), 'The SR for the redo log')],
    role: 'pool-operator',
    async: true,
  }),
  message('disable_redo_log', {
    doc: 'Stops writing the pool database to a redo log',
    role: 'pool-operator',
    async: true,
  }),
  message('set_vswitch_controller', {
    doc: 'Sets the address of the controller the hosts\' vSwitches report to (empty for none)',
    params: [param('address', t.string, 'An IP address, or empty')],
    role: 'pool-operator',
    async: true,
  }),
  message('test_archive_target', {
    doc: 'Checks that a VM archive target is reachable and writable',
    params: [pool('self'), param('config', t.smap, 'The target\'s settings')],
    result: t.string,
    resultDoc: 'The checker\'s answer',
    role: 'pool-operator',
  }),
  message('enable_local_storage_caching', {
    doc: 'Turns local storage caching on for every host that has a local SR able to cache',
    params: [pool('self')],
    role: 'pool-operator',
    async: true,
  }),
  message('disable_local_storage_caching', {
    doc: 'Turns local storage caching off on every host',
    params: [pool('self')],
    role: 'pool-operator',
    async: true,
  }),
];
