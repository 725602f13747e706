/**
 * @module
 * role: the built-in roles and the permissions they hold, as XenAPI shows them. A
 * permission is a role record without subroles named after one call (`vm.start`); roles
 * hold permissions. See `../common/role-records.ts` for why the roles are rows and the
 * permissions are not.
 *
 * Because permissions are not rows, the generic readers the dispatcher would derive from
 * the datamodel (which read rows only) are replaced here by readers over both: `roleReaders`.
 */
import { ApiError } from '../../core/api-error.js';
import type { Action } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { evalFilter, parseFilter } from '../../core/filter-expr.js';
import type { Ref } from '../../core/ref.js';
import { implicitMessages } from '../../datamodel/implicit.js';
import { role as roleClass } from '../../datamodel/role.js';
import {
  allRoleRecords, expandPermissionNames, expandPermissions, mustRoleRecord, roleRecord, roleRefByUuid, roleRefsByName,
  type RoleRecord,
} from '../common/role-records.js';

type RoleRef = Ref<'role'>;

/**
 * The roles (not permissions) that hold a permission, matched by `holds` on each role's
 * expanded permissions. `self` itself is left out, as xapi leaves it out: otherwise a
 * permission, whose permissions are itself, would be listed as holding itself.
 */
function rolesHolding(ctx: Parameters<Action>[0], self: string, holds: (permissionRef: string) => boolean): RoleRef[] {
  const out: RoleRef[] = [];
  for (const [ref] of allRoleRecords(ctx)) {
    if (ref === self) continue;
    if (expandPermissions(ctx, ref).some(holds)) out.push(ref as RoleRef);
  }
  return out;
}

export const roleActions = {
  get_permissions: (ctx, a) => expandPermissions(ctx, a.self) as RoleRef[],

  get_permissions_name_label: (ctx, a) => expandPermissionNames(ctx, a.self),

  // Any ref is accepted, as in xapi: one that is no permission is held by no role.
  get_by_permission: (ctx, a) => rolesHolding(ctx, a.permission, (p) => p === a.permission),

  // An unknown name is not an error in xapi either: no role holds it, so the list is empty.
  get_by_permission_name_label: (ctx, a) => {
    const [self = ''] = roleRefsByName(ctx, a.label);
    return rolesHolding(ctx, self, (p) => roleRecord(ctx, p)?.name_label === a.label);
  },
} satisfies ActionsOf<'role'>;

/**
 * xe role-list and clients such as XenCenter ask for the roles alone with this expression
 * and for the permissions alone with its negation; xapi recognises just these two
 * spellings (its filter language has no list literal), and so does this.
 */
const ONLY_ROLES = 'subroles<>[]';
const ONLY_PERMISSIONS = 'subroles=[]';

function recordsWhere(ctx: Parameters<Action>[0], expr: string): Record<string, RoleRecord> {
  const squeezed = expr.replace(/\s+/g, '');
  let keep: (rec: RoleRecord) => boolean;
  if (squeezed === ONLY_ROLES) keep = (rec) => rec.subroles.length > 0;
  else if (squeezed === ONLY_PERMISSIONS) keep = (rec) => rec.subroles.length === 0;
  else {
    // xapi answers every other expression with everything; a real filter is more useful.
    const parsed = parseFilter(expr);
    keep = (rec) => evalFilter(parsed, rec);
  }
  return Object.fromEntries(allRoleRecords(ctx).filter(([, rec]) => keep(rec)));
}

/** A getter for each role field, over rows and permissions alike. */
function fieldGetters(): Record<string, Action> {
  const out: Record<string, Action> = {};
  for (const m of implicitMessages(roleClass)) {
    const field = m.implicit.op === 'get' ? m.implicit.field : undefined;
    if (field !== undefined) out[m.name] = (ctx, a) => mustRoleRecord(ctx, a.self)[field];
  }
  return out;
}

/** The generic readers of `role`, answering for permissions as well as for role rows. */
export const roleReaders: Readonly<Record<string, Action>> = {
  ...fieldGetters(),
  get_record: (ctx, a) => mustRoleRecord(ctx, a.self),
  get_by_uuid: (ctx, a) => {
    const ref = roleRefByUuid(ctx, String(a.uuid));
    if (!ref) throw new ApiError('UUID_INVALID', ['role', String(a.uuid)]);
    return ref;
  },
  get_by_name_label: (ctx, a) => roleRefsByName(ctx, String(a.label)),
  get_all: (ctx) => allRoleRecords(ctx).map(([ref]) => ref),
  get_all_records: (ctx) => Object.fromEntries(allRoleRecords(ctx)),
  get_all_records_where: (ctx, a) => recordsWhere(ctx, String(a.expr)),
};

/** Every generic reader the datamodel derives for `role` must be one of the above. */
for (const m of implicitMessages(roleClass)) {
  if (!(m.name in roleReaders)) throw new Error(`role.${m.name} would read role rows only: serve it in src/actions/role/`);
}

/**
 * What the registry gives the dispatcher for `role`: the typed handlers of its own
 * messages, plus the readers, which take the generic ones' place (a handler named like a
 * derived message wins over it). Typed as the former alone, since `ActionsOf` describes
 * only declared messages; the completeness test still sees every key.
 */
export const roleHandlers: typeof roleActions = (() => {
  for (const name of Object.keys(roleReaders)) if (name in roleActions) throw new Error(`role.${name} is implemented twice`);
  return { ...roleReaders, ...roleActions } as typeof roleActions;
})();
