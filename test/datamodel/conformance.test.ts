/**
 * Islet's datamodel against xapi's published one: see conformance-check.ts for the rules.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, isDeclaredError } from '../../src/datamodel/errors.js';
import { allMessages, findMessage, implicitMessages } from '../../src/datamodel/implicit.js';
import { classes } from '../../src/datamodel/index.js';
import { checkConformance, checkErrorTable, findReference, loadReference, loadReferenceFile } from './conformance-check.js';

/** Classes clients expect complete records of. */
const COMPLETE = [
  'session', 'task', 'pool', 'host', 'host_metrics', 'VM', 'VM_metrics', 'SR', 'VDI', 'VBD', 'PBD',
  'pool_patch', 'host_patch', 'pool_update',
];

const report = (problems: string[]) => `${problems.length} mismatch(es):\n  ${problems.join('\n  ')}`;

test('the checked-in reference extract is found, says where it came from, and holds facts only', () => {
  const path = findReference();
  const file = loadReferenceFile(path);
  assert.ok(file.classes.length > 60, `${path} does not look like the XenAPI datamodel`);
  assert.match(file.provenance.referenceSha256, /^[0-9a-f]{64}$/);
  assert.equal(file.provenance.generator, 'scripts/extract-xenapi-facts.mjs');
  // Descriptions and documentation strings stay in the reference, not here.
  const wordy = JSON.stringify(file.classes, (k, v: unknown) => (k === 'doc' || (k === 'description' && typeof v === 'string') ? (() => { throw new Error(`${path} holds a '${k}' text`); })() : v));
  assert.ok(wordy.length > 0);
});

test('every class, field and message matches the reference', () => {
  const problems = checkConformance(classes, loadReference(), {
    implicitOf: implicitMessages,
    complete: COMPLETE.filter((n) => classes.some((c) => c.name === n)),
    isDeclaredError,
  });
  assert.deepEqual(problems, [], report(problems));
});

test('the error table is well formed', () => {
  const problems = checkErrorTable(ErrorCodes);
  assert.deepEqual(problems, [], report(problems));
});

test('classes follow XenAPI order and names are unique', () => {
  const order = loadReference().map((c) => c.name);
  const mine = classes.map((c) => c.name);
  assert.equal(new Set(mine).size, mine.length);
  // islet_ classes are extensions, outside XenAPI's order.
  const idx = mine.filter((n) => !n.startsWith('islet_')).map((n) => order.indexOf(n));
  assert.deepEqual(idx, [...idx].sort((a, b) => a - b), `class order: ${mine.join(', ')}`);
  for (const c of classes) {
    const names = allMessages(c).map((m) => m.name);
    assert.equal(new Set(names).size, names.length, `${c.name} has a message declared twice`);
  }
});

test('findMessage finds declared and derived messages', () => {
  assert.equal(findMessage('session', 'login_with_password')?.sessionless, true);
  assert.equal(findMessage('host', 'get_record')?.name, 'get_record');
  assert.equal(findMessage('host', 'no_such_call'), undefined);
  assert.equal(findMessage('no_such_class', 'get_record'), undefined);
});
