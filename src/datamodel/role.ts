/**
 * @module
 * A role: a named bundle of permissions. The built-in roles form a chain, each holding
 * everything the weaker ones hold.
 */
import { cls, ctor, message, param, runtime, t } from './dsl.js';

export const role = cls('role', {
  doc: 'A named set of permissions that can be granted to subjects',
  writeRole: 'pool-operator',
  fields: [
    ctor('name_label', t.string, 'Short name of the role, such as pool-admin'),
    ctor('name_description', t.string, 'What holders of the role may do'),
    ctor('subroles', t.set(t.ref('role')), 'Roles and permissions this role includes'),
    runtime('is_internal', t.bool, 'True for roles used inside the toolstack and not offered to users'),
  ],
  messages: [
    message('get_permissions', {
      doc: 'Lists the permissions this role includes, however deeply nested',
      params: [
        param('self', t.ref('role'), 'The role to inspect'),
      ],
      result: t.set(t.ref('role')),
      resultDoc: 'The permissions',
      role: 'read-only',
    }),
    message('get_permissions_name_label', {
      doc: 'Lists the names of the permissions this role includes',
      params: [
        param('self', t.ref('role'), 'The role to inspect'),
      ],
      result: t.set(t.string),
      resultDoc: 'Permission names',
      role: 'read-only',
    }),
    message('get_by_permission', {
      doc: 'Lists the roles that include a permission',
      params: [
        param('permission', t.ref('role'), 'The permission to look for'),
      ],
      result: t.set(t.ref('role')),
      resultDoc: 'Roles holding it',
      role: 'read-only',
    }),
    message('get_by_permission_name_label', {
      doc: 'Lists the roles that include the permission with this name',
      params: [
        param('label', t.string, 'Name of the permission to look for'),
      ],
      result: t.set(t.ref('role')),
      resultDoc: 'Roles holding it',
      role: 'read-only',
    }),
  ],
});
