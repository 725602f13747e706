/**
 * @module
 * `xe help` (usage and the common commands), `xe help --all` (every command, host and VM
 * commands first) and `xe help CMD…` (one record per command: name, required and optional
 * parameters, description). Answered locally, without contacting a server.
 */
import type { Params } from '../argv.js';
import { type CommandFlag, type CommandSpec, allCommands, findCommand } from '../command-table.js';
import type { Printer } from '../printer.js';
import { usageOptions } from '../usage-text.js';

const SELECTOR_INFO: Partial<Record<CommandFlag, [string, string]>> = {
  'vm-selectors': ['<vm-selectors>', ' VMs are chosen by filtering all VMs on field values (uuid=, power-state=, any field of '
    + "'xe vm-list params=all'); the pseudo-field vm= matches a name-label or a uuid. When several VMs match, "
    + "'--multiple' is required. Given no selector, the operation applies to every VM."],
  'host-selectors': ['<host-selectors>', ' Hosts are chosen by filtering all hosts on field values (uuid=, enabled=, any field of '
    + "'xe host-list params=all'); the pseudo-field host= matches a hostname, name-label or uuid. When several hosts "
    + "match and the operation allows it, '--multiple' is required. Given no selector, the operation applies to every host."],
  'sr-selectors': ['<sr-selectors>', ' SRs are chosen by filtering all SRs on field values (uuid=, type=, any field of '
    + "'xe sr-list params=all'); the pseudo-field sr= matches a name-label or a uuid. When several SRs match and the "
    + "operation allows it, '--multiple' is required. Given no selector, the operation applies to every SR."],
};

/** The text before the command lists of `xe help`. */
export function helpUsage(argv0: string): string {
  return `${usageOptions(argv0)}
To get help on a specific command:
  ${argv0} help <command>

`;
}

/** Command names joined with `, ` on lines of at most about 78 columns, indented by four. */
export function makeList(names: readonly string[]): string[] {
  const indent = '    ';
  const lines: string[] = [];
  let cur = indent + (names[0] ?? '');
  for (const n of names.slice(1)) {
    if (cur.length + n.length > 74) {
      lines.push(cur);
      cur = indent + n;
    } else {
      cur = `${cur}, ${n}`;
    }
  }
  lines.push(cur);
  return lines;
}

function describe(printer: Printer, spec: CommandSpec | undefined, name: string): void {
  if (!spec) {
    printer.list([`Unknown command '${name}'`]);
    return;
  }
  const sel = (spec.flags ?? []).map((f) => SELECTOR_INFO[f]).filter((x): x is [string, string] => !!x);
  const optional = [...spec.optn, ...sel.map(([p]) => p)];
  const desc = spec.help + (sel.length === 1 ? sel[0]![1] : '');
  printer.table([[
    ['command name        ', name],
    ['reqd params     ', spec.reqd.join(', ')],
    ['optional params ', optional.join(', ')],
    ['description     ', desc],
  ]]);
}

export async function runHelp(printer: Printer, params: Params, argv0: string): Promise<void> {
  const asked = params.filter(([k]) => !['server', 'username', 'password', 'port', 'minimal', 'all'].includes(k));
  if (asked.length) {
    for (const [name] of asked) describe(printer, await findCommand(name), name);
    return;
  }
  const cmds = (await allCommands())
    .filter((c) => !c.flags?.includes('hidden'))
    .map((c) => c.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const all = params.some(([k, v]) => k === 'all' && v === 'true');
  if (all) {
    if (printer.minimal) return printer.list(cmds);
    const host = cmds.filter((n) => n.startsWith('host-'));
    const vm = cmds.filter((n) => n.startsWith('vm-'));
    const other = cmds.filter((n) => !n.startsWith('host-') && !n.startsWith('vm-'));
    printer.msg(`${helpUsage(argv0)}Full command list\n-----------------\n`);
    printer.list(makeList(host));
    printer.list(makeList(['']));
    printer.list(makeList(vm));
    printer.list(makeList(['']));
    printer.list(makeList(other));
    return;
  }
  const byName = new Map((await allCommands()).map((c) => [c.name, c]));
  const std = cmds.filter((n) => byName.get(n)?.flags?.includes('standard'));
  if (printer.minimal) return printer.list(std);
  printer.msg(`${helpUsage(argv0)}To get a full listing of commands:\n  ${argv0} help --all\n\nCommon command list\n-------------------\n`);
  printer.list(makeList(std));
}
