/**
 * @module
 * The permissions of the built-in roles, derived from the datamodel, and the identities
 * (uuid, ref) XenServer gives roles and permissions.
 *
 * In XenAPI a permission is a role record with no subroles, named after the one call it
 * allows, lower-cased (`vm.start`); a role's subroles are the permissions it holds. Islet
 * checks calls against each message's role list (`MessageDecl.roles`), so the permissions
 * are read off those lists: one per message some role may call, held by exactly the roles
 * on its list. Nothing here is stored: the catalogue follows from the declarations, so it
 * cannot drift from what RBAC enforces, and it never reaches the pool database (some
 * 1,200 records that would otherwise swell every `event.from` snapshot).
 *
 * Uuids are xapi's: the MD5 of the call's wire name (`VM.start`, before lower-casing) or
 * of the role's name, laid out as a uuid, with pool-admin's fixed one; a ref is
 * `OpaqueRef:` and the uuid. So they are the same on every host, after every restart,
 * and the same as a XenServer's for the same call.
 */
import { createHash } from 'node:crypto';
import type { ClassDecl, MessageDecl } from '../datamodel/dsl.js';
import { allMessages } from '../datamodel/implicit.js';
import { classes } from '../datamodel/index.js';
import { type Role, Roles } from '../datamodel/roles.js';

/** The uuid xapi gives pool-admin, which subjects name in their default role list. */
export const POOL_ADMIN_UUID = '0165f154-ba3e-034e-6b27-5d271af109ba';

/** One permission: the right to call one message. */
export interface Permission {
  /** `VM.start`: the call as it goes on the wire. */
  readonly wireName: string;
  /** `vm.start`: its name_label, as xapi lower-cases it. */
  readonly name: string;
  readonly uuid: string;
  readonly ref: string;
  /** The roles that hold it, strongest first (the message's own list). */
  readonly roles: readonly Role[];
}

/** xapi's name-based uuid: the 16 bytes of an MD5 digest, used as they are. */
export function md5Uuid(name: string): string {
  const x = createHash('md5').update(name, 'utf8').digest('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The ref xapi gives a static role or permission. */
export function staticRoleRef(uuid: string): string {
  return `OpaqueRef:${uuid}`;
}

/** The uuid XenServer gives a built-in role. */
export function builtinRoleUuid(role: Role): string {
  return role === 'pool-admin' ? POOL_ADMIN_UUID : md5Uuid(role);
}

/** client-cert is the role hosts use on one another; XenServer flags it as not for users. */
export function builtinRoleIsInternal(role: Role): boolean {
  return role === 'client-cert';
}

/** The permission name of a message of a class. */
export function permissionName(c: ClassDecl, m: MessageDecl): string {
  return `${c.name}.${m.name}`.toLowerCase();
}

/**
 * Messages no role holds are xapi's "local root only" (`session.change_password`): the
 * local superuser may call them whatever its role, so no role's permission list names
 * them, and xapi makes no permission of them either.
 */
function hasPermission(m: MessageDecl): boolean {
  return m.roles.length > 0;
}

interface Catalogue {
  readonly all: readonly Permission[];
  readonly byRef: ReadonlyMap<string, Permission>;
  readonly byUuid: ReadonlyMap<string, Permission>;
  readonly byName: ReadonlyMap<string, Permission>;
  readonly byRole: ReadonlyMap<Role, readonly Permission[]>;
}

let built: Catalogue | undefined;

function catalogue(): Catalogue {
  if (built) return built;
  const all: Permission[] = [];
  const byName = new Map<string, Permission>();
  for (const c of classes) {
    for (const m of allMessages(c)) {
      if (!hasPermission(m)) continue;
      const wireName = `${c.name}.${m.name}`;
      const uuid = md5Uuid(wireName);
      const p: Permission = { wireName, name: wireName.toLowerCase(), uuid, ref: staticRoleRef(uuid), roles: m.roles };
      // Two calls whose names differ only in case would share a permission (and a
      // name_label clients look up): the datamodel must not declare such a pair.
      if (byName.has(p.name)) throw new Error(`datamodel: ${wireName} and ${byName.get(p.name)!.wireName} make one permission`);
      byName.set(p.name, p);
      all.push(p);
    }
  }
  const byRole = new Map<Role, Permission[]>(Roles.map((r) => [r, all.filter((p) => p.roles.includes(r))]));
  built = {
    all,
    byName,
    byRef: new Map(all.map((p) => [p.ref, p])),
    byUuid: new Map(all.map((p) => [p.uuid, p])),
    byRole,
  };
  return built;
}

/** Every permission, in datamodel order (class by class, declared messages first). */
export function allPermissions(): readonly Permission[] {
  return catalogue().all;
}

export function permissionByRef(ref: unknown): Permission | undefined {
  return typeof ref === 'string' ? catalogue().byRef.get(ref) : undefined;
}

export function permissionByUuid(uuid: string): Permission | undefined {
  return catalogue().byUuid.get(uuid);
}

export function permissionByName(name: string): Permission | undefined {
  return catalogue().byName.get(name);
}

/** The permissions a built-in role holds: the messages whose role list names it. */
export function permissionsOf(role: Role): readonly Permission[] {
  return catalogue().byRole.get(role) ?? [];
}

/** The record of a permission, as role.get_record answers it. */
export function permissionRecord(p: Permission): { uuid: string; name_label: string; name_description: string; subroles: string[]; is_internal: boolean } {
  // xapi marks every permission internal: they are the parts of roles, not roles to grant.
  return { uuid: p.uuid, name_label: p.name, name_description: `Allows calling ${p.wireName}`, subroles: [], is_internal: true };
}
