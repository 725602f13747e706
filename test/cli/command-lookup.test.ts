/**
 * xe looks a generic command up (`vm-list`, `host-param-get`…) by building only the class
 * it names instead of every class's commands. The lookup finds exactly what the full table
 * holds: every command of `allCommands()` by its name, with the same parameters and flags,
 * and nothing for names that only look like one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classCommandSpec, classCommandSpecs } from '../../src/cli/class-command-specs.js';
import { allCommands, findCommand } from '../../src/cli/command-table.js';

const shape = (c: { name: string; reqd: readonly string[]; optn: readonly string[]; help: string; flags?: readonly string[] } | undefined) =>
  c && { name: c.name, reqd: c.reqd, optn: c.optn, help: c.help, flags: c.flags ?? [] };

describe('xe command lookup', () => {
  it('finds every command of the full table, the same, building one class at a time', async () => {
    const all = await allCommands();
    assert.ok(all.length > 100, `${all.length} commands`);
    for (const c of all) assert.deepEqual(shape(await findCommand(c.name)), shape(c), c.name);
    for (const c of classCommandSpecs()) assert.deepEqual(shape(classCommandSpec(c.name)), shape(c), c.name);
  });

  it('finds nothing for names that only look like generic commands', async () => {
    for (const name of ['list', '-list', 'nosuch-list', 'vm-param', 'vm-param-list-x', 'vm-lists', 'param-list', 'vm--list', 'vm-param-frob']) {
      assert.equal(await findCommand(name), undefined, name);
    }
  });
});
