/**
 * The roles XenServer defines, strongest first, and the least role each action of the
 * console needs (XenAPI's own role lists). Actions the signed-in role may not call are
 * shown disabled with the role named, as XenCenter does.
 */
export const ROLES = ['pool-admin', 'pool-operator', 'vm-power-admin', 'vm-admin', 'vm-operator', 'read-only'] as const;
export type Role = (typeof ROLES)[number];

const LEAST: Record<string, Role> = {
  'VM.start': 'vm-operator',
  'VM.clean_shutdown': 'vm-operator',
  'VM.hard_shutdown': 'vm-operator',
  'VM.clean_reboot': 'vm-operator',
  'VM.suspend': 'vm-operator',
  'VM.resume': 'vm-operator',
  'VM.pool_migrate': 'vm-power-admin',
  'VM.snapshot': 'vm-power-admin',
  'VM.revert': 'vm-power-admin',
  'VM.destroy': 'vm-admin',
  'VM.export': 'vm-admin',
  'VDI.create': 'vm-admin',
  'VDI.resize': 'vm-admin',
  'VDI.destroy': 'vm-admin',
  'VDI.import': 'vm-admin',
  'host.disable': 'pool-operator',
  'host.enable': 'pool-operator',
  'host.evacuate': 'pool-operator',
  'host.reboot': 'pool-operator',
  'pool_patch.upload': 'pool-operator',
  'pool_patch.apply': 'pool-operator',
  'pool.rolling_update': 'pool-operator',
  'PBD.plug': 'pool-operator',
};

export function may(role: Role, action: string): boolean {
  const least = LEAST[action] ?? 'pool-admin';
  return ROLES.indexOf(role) <= ROLES.indexOf(least);
}

/** Why an action is disabled, or '' when it is allowed. */
export function denial(role: Role, action: string): string {
  if (may(role, action)) return '';
  return `Your role (${role}) may not do this; it needs ${LEAST[action] ?? 'pool-admin'}.`;
}
