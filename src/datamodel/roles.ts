/**
 * @module
 * XenServer's built-in roles, strongest first. A message names the least role that may call
 * it; every stronger role may too. `client-cert` is the role of a host authenticated by its
 * certificate inside a pool: it may read everything and call the few messages that hosts
 * use on one another, which is why it sits between vm-operator and read-only.
 */
export const Roles = [
  'pool-admin',
  'pool-operator',
  'vm-power-admin',
  'vm-admin',
  'vm-operator',
  'client-cert',
  'read-only',
] as const;
export type Role = (typeof Roles)[number];

/** Every role at or above `least`, strongest first; `client-cert` only joins read-level access. */
export function rolesFrom(least: Role): Role[] {
  const idx = Roles.indexOf(least);
  return Roles.filter((r, i) => i <= idx && (r !== 'client-cert' || least === 'client-cert' || least === 'read-only'));
}

/** Whether a subject holding `held` may do what `allowed` lists. */
export function roleAllows(allowed: readonly Role[], held: Role): boolean {
  return allowed.includes(held);
}

/** Human descriptions for the role objects the pool database carries. */
export const RoleDescriptions: Record<Role, string> = {
  'pool-admin': 'Everything, including managing users, roles and the pool itself',
  'pool-operator': 'Everything about the pool and its hosts except users and roles',
  'vm-power-admin': 'Create and manage VMs, including moving them between hosts',
  'vm-admin': 'Create, change and remove VMs and their disks',
  'vm-operator': 'Start, stop and otherwise operate existing VMs',
  'client-cert': 'A pool member authenticated by its certificate',
  'read-only': 'See everything, change nothing',
};
