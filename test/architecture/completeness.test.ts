/**
 * Every message the datamodel declares has a handler, except those on the checked-in
 * allow-list (test/architecture/unimplemented-messages.txt), and that list may only
 * shrink: a newly declared message without a handler fails, and so does a listed message
 * that has since got one (its line must go). Every line says after `#` why the message is
 * not implemented here. The counts are printed with every run. The compiler knows the same
 * list (`UnimplementedMessages`, derived from the declarations and the handlers' types),
 * so a missing handler shows in the types too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Dispatcher } from '../../src/api/dispatcher.js';
import { allMessages, type ImplicitMessage } from '../../src/datamodel/implicit.js';
import { classes } from '../../src/datamodel/index.js';
import { actionsByClass } from '../../src/main/actions-registry.js';
import ts from 'typescript';
import { repoRoot } from '../helpers/repo-root.js';
import { projectCompilerOptions } from '../helpers/ts-program.js';

const LIST = 'test/architecture/unimplemented-messages.txt';

/** The allow-list's entries with their line numbers and reasons (comment lines and blank lines skipped). */
function allowList(): Map<string, { line: number; reason: string }> {
  const out = new Map<string, { line: number; reason: string }>();
  readFileSync(join(repoRoot(), LIST), 'utf8').split('\n').forEach((text, i) => {
    const [entry = '', ...rest] = text.split('#');
    const name = entry.trim();
    if (!name) return;
    assert.ok(!out.has(name), `${LIST}:${i + 1}: ${name} is listed twice`);
    out.set(name, { line: i + 1, reason: rest.join('#').trim() });
  });
  return out;
}

test('every declared message has a handler or an allow-list line, and the list only shrinks', (t) => {
  const explicit = classes.flatMap((c) => allMessages(c).filter((m) => !(m as Partial<ImplicitMessage>).implicit).map((m) => `${c.name}.${m.name}`));
  const missing = Dispatcher.unimplemented(classes, actionsByClass);
  const listed = allowList();
  t.diagnostic(`completeness: ${explicit.length} declared messages (besides generic accessors), ` +
    `${explicit.length - missing.length} implemented, ${listed.size} allow-listed (${LIST})`);

  const problems: string[] = [];
  const declared = new Set(explicit);
  for (const name of missing) {
    if (!listed.has(name)) {
      const [cls] = name.split('.');
      problems.push(`${name} is declared in src/datamodel/ but has no handler: implement it in src/actions/${cls!.toLowerCase()}/ ` +
        `(exported from that folder's index.ts). The allow-list may only shrink; do not add it there.`);
    }
  }
  const unhandled = new Set(missing);
  for (const [name, { line, reason }] of listed) {
    if (reason.length < 10) problems.push(`${LIST}:${line}: ${name} needs a reason after '#': why it is not implemented here.`);
    if (!declared.has(name)) problems.push(`${LIST}:${line}: ${name} is not a declared message any more: delete line ${line} ("${name}") from ${LIST}.`);
    else if (!unhandled.has(name)) problems.push(`${LIST}:${line}: ${name} now has a handler: delete line ${line} ("${name}") from ${LIST}.`);
  }
  assert.deepEqual(problems, [], `the completeness allow-list is out of date:\n  ${problems.join('\n  ')}`);
});

test('every class with handlers is a declared class, and each handler a declared message', () => {
  const byName = new Map(classes.map((c) => [c.name, new Set(allMessages(c).map((m) => m.name))]));
  const strays: string[] = [];
  for (const [cls, actions] of Object.entries(actionsByClass)) {
    const msgs = byName.get(cls);
    for (const name of Object.keys(actions)) if (!msgs?.has(name)) strays.push(`${cls}.${name}`);
  }
  assert.deepEqual(strays, [], 'handlers for messages the datamodel does not declare (the dispatcher never calls them)');
});

/** The `Class.message` names the fixture's `unimplemented` constant has as its type. */
function unimplementedByTypes(): string[] {
  const fixture = join(repoRoot(), 'test/architecture/fixtures/completeness/unimplemented.ts');
  const program = ts.createProgram([fixture], projectCompilerOptions());
  const errors = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(errors, [], 'the fixture compiles');
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(fixture)!;
  const decl = source.statements.find(ts.isVariableStatement)!.declarationList.declarations[0]!;
  const type = checker.getTypeAtLocation(decl.name);
  if (type.flags & ts.TypeFlags.Never) return [];
  const members = type.isUnion() ? type.types : [type];
  return members.map((m) => {
    assert.ok(m.isStringLiteral(), `UnimplementedMessages has a member that is not a name: ${checker.typeToString(m)}`);
    return m.value;
  });
}

test('the types know the same missing handlers as the dispatcher (MissingHandlers)', { timeout: 240_000 }, () => {
  const byTypes = unimplementedByTypes().sort();
  const byDispatcher = Dispatcher.unimplemented(classes, actionsByClass).sort();
  assert.deepEqual(byTypes, byDispatcher, 'UnimplementedMessages (src/main/actions-registry.ts) and the dispatcher disagree');
});
