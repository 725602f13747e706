/**
 * @module
 * xe's command table: for each command its required and optional parameters, its help and
 * where its implementation lives. Implementations load lazily, so `xe` starts quickly no
 * matter how many commands exist. The generic `<class>-list` and `<class>-param-*`
 * commands are generated from the records (`class-command-specs.ts`); every other command
 * is one small module under `commands/` plus one entry in `COMMANDS` below, e.g.
 *
 * ```ts
 * { name: 'vm-start', reqd: [], optn: ['force', 'on'], flags: ['vm-selectors', 'standard'],
 *   help: 'Starts the selected VMs.', load: () => import('./commands/vm-start.js') },
 * ```
 */
import type { CommandModule } from './command-context.js';
import { UPDATE_COMMANDS } from './update-command-specs.js';
import { STORAGE_COMMANDS } from './storage-command-specs.js';
import { VM_POWER_COMMANDS } from './vm-power-command-specs.js';
import { POOL_COMMANDS } from './pool-command-specs.js';
import { ADMIN_COMMANDS } from './admin-command-specs.js';
import { HOST_602_COMMANDS } from './host-602-command-specs.js';
import { NETWORK_COMMANDS } from './network-command-specs.js';
import { APPLIANCE_COMMANDS } from './appliance-command-specs.js';
import { VMPP_COMMANDS } from './vmpp-command-specs.js';

/**
 * `*-selectors` add xe's object selection help and parameters; `standard` lists it in `xe help`;
 * `local` logs in on the host named, even a member (`session.slave_local_login_with_password`);
 * `credentials` opens no session: the command's one request carries the user's name and
 * password itself (HTTP Basic), and it makes no XenAPI call.
 */
export type CommandFlag = 'vm-selectors' | 'host-selectors' | 'sr-selectors' | 'standard' | 'hidden' | 'local' | 'credentials';

/** How xe logs in before running a command. */
export type LoginKind = 'pool' | 'local' | 'none';

export interface CommandSpec {
  readonly name: string;
  readonly reqd: readonly string[];
  readonly optn: readonly string[];
  readonly help: string;
  readonly flags?: readonly CommandFlag[];
  readonly load: () => Promise<CommandModule>;
}

/** Hand-written commands. `help` is not one: xe answers it before looking at this table. */
const COMMANDS: readonly CommandSpec[] = [...UPDATE_COMMANDS, ...STORAGE_COMMANDS, ...VM_POWER_COMMANDS, ...POOL_COMMANDS, ...ADMIN_COMMANDS, ...HOST_602_COMMANDS, ...NETWORK_COMMANDS,
  ...APPLIANCE_COMMANDS, ...VMPP_COMMANDS];

async function generated(): Promise<readonly CommandSpec[]> {
  const m = await import('./class-command-specs.js');
  return m.classCommandSpecs();
}

/** How xe logs in for the command (see the `local` and `credentials` flags): known from the hand-written table alone. */
export function loginFor(name: string): LoginKind {
  const flags = COMMANDS.find((c) => c.name === name)?.flags ?? [];
  return flags.includes('credentials') ? 'none' : flags.includes('local') ? 'local' : 'pool';
}

export async function findCommand(name: string): Promise<CommandSpec | undefined> {
  return COMMANDS.find((c) => c.name === name) ?? (await import('./class-command-specs.js')).classCommandSpec(name);
}

/** Every command, hand-written ones first. */
export async function allCommands(): Promise<readonly CommandSpec[]> {
  const gen = await generated();
  const names = new Set(COMMANDS.map((c) => c.name));
  return [...COMMANDS, ...gen.filter((c) => !names.has(c.name))];
}
