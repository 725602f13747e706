/**
 * @module
 * The SR and VDI messages of XenServer 6.0.2's disaster recovery and HA set-up: whether an
 * SR can hold an HA state file or a copy of the pool database, turning that copy on and
 * off, and reading a database copy found on a VDI. With `SR.make`, the pre-`create` call
 * kept for old clients.
 */
import { message, param, t } from './dsl.js';

const sr = param('sr', t.ref('SR'), 'The SR concerned');

export const srDisasterRecoveryMessages = [
  message('make', {
    doc: 'Formats storage as a new SR (obsolete: SR.create replaced it)',
    params: [
      param('host', t.ref('host'), 'The host to create it from'),
      param('device_config', t.smap, 'Where the storage is'),
      param('physical_size', t.int, 'Its size in bytes'),
      param('name_label', t.string, 'Its name'),
      param('name_description', t.string, 'Its description'),
      param('type', t.string, 'The driver'),
      param('content_type', t.string, 'What it holds'),
      param('sm_config', t.smap, 'Driver settings'),
    ],
    result: t.string,
    resultDoc: 'The new SR\'s uuid',
    errors: ['MESSAGE_DEPRECATED'],
    role: 'pool-operator',
    async: true,
  }),
  message('assert_can_host_ha_statefile', {
    doc: 'Fails unless every host reaches the SR and its driver can hold an HA state file',
    params: [sr],
    role: 'pool-operator',
    async: true,
  }),
  message('assert_supports_database_replication', {
    doc: 'Fails unless every host reaches the SR and its driver can hold a copy of the pool database',
    params: [sr],
    role: 'pool-operator',
    async: true,
  }),
  message('enable_database_replication', {
    doc: 'Keeps a copy of the pool database on the SR, for disaster recovery',
    params: [sr],
    role: 'pool-operator',
    async: true,
  }),
  message('disable_database_replication', {
    doc: 'Stops keeping copies of the pool database on the SR and removes them',
    params: [sr],
    role: 'pool-operator',
    async: true,
  }),
];

export const vdiDisasterRecoveryMessages = [
  message('open_database', {
    doc: 'Opens the pool database copy held on a metadata VDI, for reading through the returned session',
    params: [param('self', t.ref('VDI'), 'The metadata VDI')],
    result: t.ref('session'),
    resultDoc: 'A read-only session onto that database',
    role: 'pool-operator',
    async: true,
  }),
  message('read_database_pool_uuid', {
    doc: 'Tells, from what the host last read, which pool the database on a VDI belongs to',
    params: [param('self', t.ref('VDI'), 'The metadata VDI')],
    result: t.string,
    resultDoc: 'The pool\'s uuid, or empty when unknown',
    role: 'read-only',
    async: true,
  }),
];
