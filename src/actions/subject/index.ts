/**
 * @module
 * subject: who may log in besides root, and with which roles. XenServer's subjects come
 * from a directory; Islet adds local users (an `islet_` extension) so a pool without one
 * can still hand out less than pool-admin.
 */
import { ApiError } from '../../core/api-error.js';
import { expandPermissionNames, roleRecord } from '../common/role-records.js';
import { mustRow } from '../common/storage-access.js';
import type { RecordOf } from '../../core/record-of.js';
import { newRef, newUuid } from '../../core/ref.js';
import type { Role } from '../../datamodel/roles.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';

const LOCAL_PREFIX = 'islet-local:';

function subjectRow(ctx: ActionContext, ref: unknown): RecordOf<'subject'> {
  return mustRow(ctx, 'subject', ref);
}

function roleRow(ctx: ActionContext, ref: unknown): RecordOf<'role'> {
  return mustRow(ctx, 'role', ref);
}

/** The local user a subject stands for, if it is one of ours. */
function localUserName(row: Record<string, unknown>): string | undefined {
  const id = String(row.subject_identifier);
  return id.startsWith(LOCAL_PREFIX) ? id.slice(LOCAL_PREFIX.length) : undefined;
}

export const subjectActions = {
  islet_create_local_user: async (ctx, a) => {
    const name = String(a.name);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name) || name === 'root') throw new ApiError('INVALID_VALUE', ['name', name]);
    if (ctx.services.sessions.getUser(name)) throw new ApiError('SUBJECT_ALREADY_EXISTS');
    const role = roleRow(ctx, a.role);
    const ref = newRef<'subject'>();
    ctx.db.create('subject', ref, {
      uuid: newUuid(),
      subject_identifier: `${LOCAL_PREFIX}${name}`,
      other_config: { 'subject-name': name, 'subject-is-group': 'false', 'subject-account-type': 'islet-local' },
      roles: [a.role],
    });
    await ctx.services.sessions.setUser(name, String(a.password), role.name_label as Role, ref);
    return ref;
  },

  destroy: (ctx, a) => {
    const row = subjectRow(ctx, a.self);
    const name = localUserName(row);
    if (name !== undefined) {
      ctx.services.sessions.logoutUser(name);
      ctx.services.sessions.removeUser(name);
    }
    ctx.db.remove('subject', a.self);
    return '';
  },

  add_to_roles: (ctx, a) => {
    const row = subjectRow(ctx, a.self);
    roleRow(ctx, a.role);
    const roles = row.roles;
    if (!roles.includes(a.role as string)) ctx.db.update('subject', a.self, { roles: [...roles, a.role] });
    const name = localUserName(row);
    if (name !== undefined) ctx.services.sessions.rolesChanged(name);
    return '';
  },

  remove_from_roles: (ctx, a) => {
    const row = subjectRow(ctx, a.self);
    ctx.db.update('subject', a.self, { roles: row.roles.filter((r) => r !== a.role) });
    const name = localUserName(row);
    if (name !== undefined) ctx.services.sessions.rolesChanged(name);
    return '';
  },

  // As in xapi: the names of the permissions the subject's roles hold, each once.
  get_permissions_name_label: (ctx, a) => {
    const row = subjectRow(ctx, a.self);
    const names = new Set<string>();
    for (const r of row.roles) {
      if (roleRecord(ctx, r)) for (const n of expandPermissionNames(ctx, r)) names.add(n);
    }
    return [...names];
  },
} satisfies ActionsOf<'subject'>;
