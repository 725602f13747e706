/**
 * @module
 * The pool: the set of hosts sharing one database, one master and default storage.
 */
import { cls, ctor, message, param, runtime, rw, t } from './dsl.js';

export const pool = cls('pool', {
  doc: 'A group of hosts managed together, with one master holding the database',
  writeRole: 'pool-operator',
  fields: [
    rw('name_label', t.string, 'Short name of the pool'),
    rw('name_description', t.string, 'Longer description of the pool'),
    runtime('master', t.ref('host'), 'The host currently holding the pool database'),
    rw('default_SR', t.ref('SR'), 'Where new disks go when no SR is named'),
    rw('suspend_image_SR', t.ref('SR'), 'Where suspended VMs keep their memory images'),
    rw('crash_dump_SR', t.ref('SR'), 'Where crash dumps are written'),
    rw('other_config', t.smap, 'Free-form settings', { writeRole: 'vm-admin' }),
    runtime('ha_enabled', t.bool, 'Whether high availability is on'),
    rw('tags', t.set(t.string), 'User labels', { writeRole: 'vm-operator' }),
  ],
  messages: [
    message('join', {
      doc: 'Makes the called host a member of the pool whose master is given',
      params: [
        param('master_address', t.string, 'Address of the pool master to join'),
        param('master_username', t.string, 'User on that master'),
        param('master_password', t.string, 'Password of that user'),
      ],
      errors: ['JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS'],
      role: 'pool-operator',
      async: true,
    }),
  ],
});
