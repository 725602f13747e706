/**
 * @module
 * The generic commands every xe class gets: `<class>-list` (filter on any field,
 * `params=` to choose fields), `-param-list`, `-param-get`, and, where the class has
 * fields to change, `-param-set`, `-param-add`, `-param-remove` and `-param-clear`. Their
 * optional parameters are the record's fields, as xe's help shows them.
 */
import type { CommandSpec } from './command-table.js';
import { type CliClass, cliClass, cliClasses } from './records.js';
import type { GenericOp } from './commands/class-commands.js';

function spec(cc: CliClass, op: GenericOp, reqd: string[], optn: string[], help: string, standard = false): CommandSpec {
  return {
    name: `${cc.xe}-${op}`, reqd, optn, help,
    ...(standard ? { flags: ['standard' as const] } : {}),
    load: async () => (await import('./commands/class-commands.js')).classCommand(cc.xe, op),
  };
}

function specsFor(cc: CliClass): CommandSpec[] {
  const shown = cc.fields.filter((f) => !f.hidden);
  const settable = [
    ...shown.filter((f) => f.settable).map((f) => f.name),
    ...shown.filter((f) => f.shape === 'map' && f.addable).map((f) => `${f.name}:`),
  ];
  const addable = shown.some((f) => f.shape !== 'scalar' && f.addable);
  const clearable = shown.filter((f) => f.settable || f.shape !== 'scalar').map((f) => f.name);
  const out: CommandSpec[] = [];
  if (settable.length) {
    out.push(spec(cc, 'param-set', ['uuid'], settable,
      'Sets the given fields of the object. A field given no value is emptied; a map entry is set with map-field:key=value.'));
  }
  out.push(
    spec(cc, 'list', [], ['params', ...shown.map((f) => f.name), ...shown.filter((f) => f.shape === 'set').map((f) => `${f.name}:contains`)],
      `Lists the ${cc.plural} matching the given field values (map-field:key=value for maps, set-field:contains=value for sets); params= chooses the fields shown, or params=all.`,
      cc.xe === 'vm' || cc.xe === 'network' || cc.xe === 'sr'),
    spec(cc, 'param-list', ['uuid'], [], 'Lists every field of the object with the given uuid.'),
    spec(cc, 'param-get', ['uuid', 'param-name'], ['param-key'],
      'Prints one field of the object; for a map field, param-key=<key> prints just that entry.'),
  );
  if (addable) {
    out.push(
      spec(cc, 'param-add', ['uuid', 'param-name'], ['param-key'],
        'Adds to a set field (param-key=<member>) or to a map field (key=value pairs).'),
      spec(cc, 'param-remove', ['uuid', 'param-name', 'param-key'], [], 'Removes a member from a set field or a key from a map field.'),
    );
  }
  if (clearable.length) {
    out.push(spec(cc, 'param-clear', ['uuid', 'param-name'], [], `Empties the given field (one of ${clearable.join(',')}).`));
  }
  return out;
}

let cache: CommandSpec[] | undefined;

export function classCommandSpecs(): readonly CommandSpec[] {
  cache ??= cliClasses().flatMap(specsFor);
  return cache;
}

const OPS: readonly GenericOp[] = ['list', 'param-list', 'param-get', 'param-set', 'param-add', 'param-remove', 'param-clear'];

/**
 * The generic command of that name, building only its class (`vm-list` needs the VM class,
 * not the thirty others): what `xe` looks up on every run.
 */
export function classCommandSpec(name: string): CommandSpec | undefined {
  for (const op of OPS) {
    if (!name.endsWith(`-${op}`)) continue;
    const cc = cliClass(name.slice(0, -op.length - 1));
    const spec = cc && specsFor(cc).find((c) => c.name === name);
    if (spec) return spec;
  }
  return undefined;
}
