/**
 * @module
 * Pool-internal host messages behind VM power operations: the master runs hypervisor
 * calls on the host that holds a domain, and a host asks the master to reconcile the
 * database with what its hypervisor holds. Hidden from clients (`internal`).
 */
import { message, param, t } from './dsl.js';

export const hostDomainMessages = [
  message('islet_hypervisor', {
    doc: 'Runs one call on the host\'s own hypervisor (domain create, destroy, migrate…)',
    params: [
      param('host', t.ref('host'), 'The host whose hypervisor runs the call'),
      param('method', t.string, 'The hypervisor call'),
      param('args', t.string, 'Its arguments, as a JSON object'),
    ],
    result: t.string,
    resultDoc: 'The call\'s result as JSON, or empty',
    role: 'pool-admin',
    internal: true,
  }),
  message('islet_report_domains', {
    doc: 'Asks the master to bring the host\'s VM records in line with its hypervisor',
    params: [
      param('host', t.ref('host'), 'The host that reports'),
      param('hypervisor_gone', t.bool, 'The hypervisor ended, and every domain with it'),
    ],
    role: 'pool-admin',
    internal: true,
  }),
];
