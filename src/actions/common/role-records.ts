/**
 * @module
 * The role table as clients see it: the pool's role rows (the built-in roles subjects are
 * granted) joined with the static permissions of `core/role-catalogue.ts`.
 *
 * The split follows xapi, whose role calls look a ref up among the static roles first and
 * fall back to the database. Permissions stay out of the database: there are over a
 * thousand of them, fixed by the code, and as rows each would travel in every `event.from`
 * snapshot to every client that watches all classes (Xen Orchestra does), for nothing a
 * client can change. The seven role rows stay rows: subjects hold their refs, existing
 * pools have them under random uuids, and event watchers already see them.
 *
 * A built-in role row supplies identity (ref, uuid, name, description); what it holds
 * (subroles) and whether it is internal come from the datamodel on every read, so a new
 * message is in the right roles at once and no stored list can go stale. The rows
 * themselves keep `subroles` empty: seven lists of up to 1,200 refs each would triple the
 * size of a fresh host's initial `event.from` answer.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { Row } from '../../core/ports/pool-db.js';
import {
  allPermissions, builtinRoleIsInternal, permissionByName, permissionByRef, permissionByUuid, permissionRecord,
  permissionsOf,
} from '../../core/role-catalogue.js';
import { type Role, Roles } from '../../datamodel/roles.js';

/** A role or a permission, with the fields the datamodel declares for `role`. */
export interface RoleRecord {
  readonly uuid: string;
  readonly name_label: string;
  readonly name_description: string;
  readonly subroles: readonly string[];
  readonly is_internal: boolean;
  readonly [field: string]: unknown;
}

function builtin(name: unknown): Role | undefined {
  return (Roles as readonly unknown[]).includes(name) ? (name as Role) : undefined;
}

/** A role row as clients see it: a built-in role's subroles and flag follow the datamodel. */
function rowRecord(row: Row): RoleRecord {
  const rec = row as unknown as RoleRecord;
  const role = builtin(row.name_label);
  if (!role) return rec;
  return { ...rec, subroles: permissionsOf(role).map((p) => p.ref), is_internal: builtinRoleIsInternal(role) };
}

/** Every role and permission by ref: the pool's roles first, then the permissions. */
export function allRoleRecords(ctx: ActionContext): Array<[string, RoleRecord]> {
  const out: Array<[string, RoleRecord]> = ctx.db.all('role').map(([ref, row]) => [ref, rowRecord(row)]);
  for (const p of allPermissions()) out.push([p.ref, permissionRecord(p)]);
  return out;
}

/** The record `ref` names, whether a role row or a permission; undefined for anything else. */
export function roleRecord(ctx: ActionContext, ref: unknown): RoleRecord | undefined {
  const p = permissionByRef(ref);
  if (p) return permissionRecord(p);
  const row = typeof ref === 'string' ? ctx.db.get('role', ref) : undefined;
  return row ? rowRecord(row) : undefined;
}

export function mustRoleRecord(ctx: ActionContext, ref: unknown): RoleRecord {
  const rec = roleRecord(ctx, ref);
  if (!rec) throw new ApiError('HANDLE_INVALID', ['role', String(ref)]);
  return rec;
}

/** The ref of the role or permission with this uuid, if any. */
export function roleRefByUuid(ctx: ActionContext, uuid: string): string | undefined {
  return ctx.db.refByUuid('role', uuid) ?? permissionByUuid(uuid)?.ref;
}

/** The refs of the roles and permission called `label` (names are unique, so at most one). */
export function roleRefsByName(ctx: ActionContext, label: string): string[] {
  const out = ctx.db.all('role').filter(([, r]) => r.name_label === label).map(([ref]) => ref as string);
  const p = permissionByName(label);
  if (p) out.push(p.ref);
  return out;
}

/**
 * The permissions under a role, however deep: a record with no subroles is a permission
 * and stands for itself (so a permission's permissions are itself, as in xapi). Each ref
 * is visited once, which also ends a cycle a hand-edited database might hold.
 */
export function expandPermissions(ctx: ActionContext, ref: string): string[] {
  const out = new Set<string>();
  const seen = new Set<string>();
  const walk = (r: string, rec: RoleRecord): void => {
    if (seen.has(r)) return;
    seen.add(r);
    if (rec.subroles.length === 0) { out.add(r); return; }
    for (const sub of rec.subroles) {
      const subRec = roleRecord(ctx, sub);
      // A dangling subrole names nothing to hold; xapi would fail on it, a listing should not.
      if (subRec) walk(sub, subRec);
    }
  };
  walk(ref, mustRoleRecord(ctx, ref));
  return [...out];
}

/** The names of the permissions under a role. */
export function expandPermissionNames(ctx: ActionContext, ref: string): string[] {
  return expandPermissions(ctx, ref).map((p) => roleRecord(ctx, p)!.name_label);
}
