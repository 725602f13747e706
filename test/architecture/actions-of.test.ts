/**
 * Handlers and database rows are typed from the datamodel (src/core/actions-of.ts,
 * src/core/record-of.ts), and the typing can fail: the fixture's wrong handlers (a
 * misnamed message, a parameter the message does not declare, a ref of the wrong class, a
 * value outside an enum, a wrong result class, an extra argument) and wrong row reads and
 * writes (a ref field read as another class's ref, an undeclared field, an int read as a
 * string, a write outside an enum), and a handled message taken for a missing one
 * (`MissingHandlers`) each fail to compile, on exactly the lines marked
 * `@ts-expect-error`, while its right ones compile. The compiler runs here on the
 * fixture's source.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { repoRoot } from '../helpers/repo-root.js';
import { projectCompilerOptions } from '../helpers/ts-program.js';

const root = repoRoot();
const fixture = join(root, 'test/architecture/fixtures/actions-of/typed-handlers.ts');
const DIRECTIVE = '// @ts-expect-error';

/** The 1-based lines of the fixture the compiler complains about, given its text. */
function errorLines(text: string): number[] {
  const options = projectCompilerOptions();
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, fresh) =>
    name === fixture ? ts.createSourceFile(name, text, lang) : read(name, lang, onError, fresh);
  const program = ts.createProgram([fixture], options, host);
  const all = ts.getPreEmitDiagnostics(program);
  const elsewhere = all.filter((d) => d.file?.fileName !== fixture).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(elsewhere, [], 'the fixture\'s imports must compile');
  const lines = all.map((d) => d.file!.getLineAndCharacterOfPosition(d.start!).line + 1);
  return [...new Set(lines)].sort((a, b) => a - b);
}

test('wrong handlers fail to compile where marked, right ones compile', { timeout: 240_000 }, () => {
  const text = readFileSync(fixture, 'utf8');
  const marked = text.split('\n').flatMap((l, i) => (l.trim().startsWith(DIRECTIVE) ? [i + 2] : []));
  assert.ok(marked.length >= 12, 'the fixture marks its wrong handlers, row reads and missing handlers');

  assert.deepEqual(errorLines(text), [], 'with the directives, every marked line fails and nothing else does');
  const bare = text.split(DIRECTIVE).join('// (refused)');
  assert.deepEqual(errorLines(bare), marked, 'without them, the errors are exactly on the marked lines');
});
