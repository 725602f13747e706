/**
 * @module
 * xe's VM appliance (vApp) commands and the disaster-recovery commands that read a VM or
 * an appliance from a database VDI, for the command table (implementations in
 * `commands/appliance-commands.ts`). `appliance-list` and `appliance-param-*` come from
 * the records. As in xe, none is listed by `xe help` without `--all`.
 */
import type { CommandModule } from './command-context.js';
import type { CommandSpec } from './command-table.js';

type Commands = typeof import('./commands/appliance-commands.js');

function spec(name: string, reqd: string[], optn: string[], help: string, pick: (m: Commands) => CommandModule): CommandSpec {
  return { name, reqd, optn, help, load: async () => pick(await import('./commands/appliance-commands.js')) };
}

export const APPLIANCE_COMMANDS: readonly CommandSpec[] = [
  spec('appliance-create', ['name-label'], ['name-description'], 'Make a VM appliance with no VMs. Prints its UUID.', (m) => m.applianceCreate),
  spec('appliance-destroy', ['uuid'], [], 'Remove a VM appliance; its VMs are left as they are.', (m) => m.applianceDestroy),
  spec('appliance-start', ['uuid'], ['paused'], 'Start the VMs of an appliance, lowest order first.', (m) => m.applianceStart),
  spec('appliance-shutdown', ['uuid'], ['force'],
    'Shut down the VMs of an appliance, highest order first; --force stops them at once.', (m) => m.applianceShutdown),
  spec('appliance-recover', ['uuid'], ['database:', 'force'],
    'Bring a VM appliance back from the database on the VDI given by database:vdi-uuid=.', (m) => m.applianceRecover),
  spec('appliance-assert-can-be-recovered', ['uuid'], ['database:'],
    'Check that the storage a VM appliance needs is there to recover it from the database on the VDI given by database:vdi-uuid=.',
    (m) => m.applianceAssertCanBeRecovered),
  spec('vm-recover', ['uuid'], ['database:', 'force'],
    'Bring a VM back from the database on the VDI given by database:vdi-uuid=.', (m) => m.vmRecover),
  spec('vm-assert-can-be-recovered', ['uuid'], ['database:'],
    'Check that the storage a VM needs is there to recover it from the database on the VDI given by database:vdi-uuid=.',
    (m) => m.vmAssertCanBeRecovered),
];
