/**
 * @module
 * xe's VM protection policy commands (XenServer 6.0), for the command table
 * (implementations in `commands/vmpp-commands.ts`). `vmpp-list` and `vmpp-param-*` come
 * from the records.
 */
import type { CommandModule } from './command-context.js';
import type { CommandSpec } from './command-table.js';

type Commands = typeof import('./commands/vmpp-commands.js');

function spec(name: string, reqd: string[], optn: string[], help: string, pick: (m: Commands) => CommandModule): CommandSpec {
  return { name, reqd, optn, help, load: async () => pick(await import('./commands/vmpp-commands.js')) };
}

export const VMPP_COMMANDS: readonly CommandSpec[] = [
  spec('vmpp-create', ['name-label', 'backup-type', 'backup-frequency'],
    ['name-description', 'is-policy-enabled', 'backup-schedule:', 'backup-retention-value', 'archive-target-type',
      'archive-target-config:', 'archive-frequency', 'archive-schedule:', 'is-alarm-enabled', 'alarm-config:'],
    'Make a VM protection policy. Prints its UUID.', (m) => m.vmppCreate),
  spec('vmpp-destroy', ['uuid'], [], 'Remove a VM protection policy that protects no VM.', (m) => m.vmppDestroy),
];
