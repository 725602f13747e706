/**
 * @module
 * A subject: a user or group from the external directory that has been granted roles in
 * the pool.
 */
import { cls, ctor, message, param, runtime, t } from './dsl.js';

export const subject = cls('subject', {
  doc: 'A directory user or group allowed to log in, with the roles it holds',
  create: true,
  destroy: true,
  writeRole: 'pool-operator',
  createRole: 'pool-admin',
  fields: [
    ctor('subject_identifier', t.string, 'Identifier of the user or group in the directory (a SID, say)'),
    ctor('other_config', t.smap, 'Information copied from the directory, such as the display name'),
    runtime('roles', t.set(t.ref('role')), 'Roles granted to this subject'),
  ],
  messages: [
    message('add_to_roles', {
      doc: 'Grants the subject one more role',
      params: [
        param('self', t.ref('subject'), 'The subject to change'),
        param('role', t.ref('role'), 'The role to grant'),
      ],
      role: 'pool-admin',
    }),
    message('remove_from_roles', {
      doc: 'Takes one role away from the subject',
      params: [
        param('self', t.ref('subject'), 'The subject to change'),
        param('role', t.ref('role'), 'The role to take away'),
      ],
      role: 'pool-admin',
    }),
    message('islet_create_local_user', {
      doc: 'Islet extension: makes a local user with a password, as a subject holding one role, so pools without a directory can still give people less than root',
      params: [
        param('name', t.string, 'Login name of the new user'),
        param('password', t.string, 'Initial password'),
        param('role', t.ref('role'), 'The role the user holds'),
      ],
      result: t.ref('subject'),
      resultDoc: 'The subject standing for the new user',
      errors: ['INVALID_VALUE', 'SUBJECT_ALREADY_EXISTS'],
      role: 'pool-admin',
    }),
    message('get_permissions_name_label', {
      doc: 'Lists every permission the subject holds through its roles',
      params: [
        param('self', t.ref('subject'), 'The subject to inspect'),
      ],
      result: t.set(t.string),
      resultDoc: 'Permission names',
      role: 'read-only',
    }),
  ],
});
