/**
 * Proves the conformance checker can fail: declarations with one deliberate mistake each
 * must each be reported, and a faithful declaration must not be.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cls, ctor, enumDecl, message, param, runtime, rw, t } from '../../src/datamodel/dsl.js';
import { implicitMessages } from '../../src/datamodel/implicit.js';
import { checkConformance, checkErrorTable, loadReference } from './conformance-check.js';

const ref = loadReference();
const check = (...classes: ReturnType<typeof cls>[]) =>
  checkConformance(classes, ref, { implicitOf: implicitMessages, isDeclaredError: (c) => c !== 'NOT_IN_ERRORS_TS' });

const goodMetrics = () => cls('host_metrics', {
  doc: 'test double',
  writeRole: 'pool-operator',
  fields: [
    runtime('memory_total', t.int, 'x'),
    runtime('live', t.bool, 'x'),
    runtime('last_updated', t.datetime, 'x'),
    rw('other_config', t.smap, 'x'),
  ],
});

const joinParams = [
  param('master_address', t.string, 'x'),
  param('master_username', t.string, 'x'),
  param('master_password', t.string, 'x'),
];

function has(problems: string[], ...needles: string[]): void {
  const hit = problems.some((p) => needles.every((n) => p.includes(n)));
  assert.ok(hit, `expected a problem mentioning ${needles.join(' + ')}; got:\n  ${problems.join('\n  ')}`);
}

test('a faithful declaration passes', () => {
  assert.deepEqual(check(goodMetrics()), []);
});

test('a wrong field type is reported', () => {
  const c = cls('host_metrics', { doc: 'x', fields: [runtime('memory_total', t.string, 'x')] });
  has(check(c), 'host_metrics.memory_total', 'type string', 'reference int');
});

test('a wrong qualifier and the setter it drops are reported', () => {
  const c = cls('host_metrics', { doc: 'x', writeRole: 'pool-operator', fields: [runtime('other_config', t.smap, 'x')] });
  const problems = check(c);
  has(problems, 'host_metrics.other_config', 'qualifier RO/runtime', 'reference RW');
  has(problems, 'host_metrics.set_other_config', 'derives it');
});

test('a wrong default is reported', () => {
  const c = cls('pool', { doc: 'x', fields: [runtime('ha_enabled', t.bool, 'x', { default: true })] });
  has(check(c), 'pool.ha_enabled', 'default true', 'reference false');
});

test('a create record field required without reason, or not required with none, is reported', () => {
  const c = cls('secret', {
    doc: 'x', create: true,
    fields: [rw('value', t.string, 'x'), rw('other_config', t.smap, 'x', { required: true })],
  });
  const problems = check(c);
  has(problems, 'secret.value', 'must give it');
  has(problems, 'secret.other_config', 'required in a create record', 'default');
  has(check(cls('host_metrics', { doc: 'x', fields: [runtime('memory_total', t.int, 'x', { required: true })] })), 'host_metrics.memory_total', 'no create');
});

test('a wrong parameter order is reported', () => {
  const swapped = [joinParams[1]!, joinParams[0]!, joinParams[2]!];
  const c = cls('pool', { doc: 'x', fields: [], messages: [message('join', { doc: 'x', params: swapped, role: 'pool-operator', async: true })] });
  has(check(c), 'pool.join', 'params (master_username: string, master_address: string');
});

test('a wrong parameter type and a wrong result are reported', () => {
  const c = cls('host', {
    doc: 'x', fields: [],
    messages: [message('get_servertime', { doc: 'x', params: [param('host', t.string, 'x')], result: t.string, role: 'read-only' })],
  });
  const problems = check(c);
  has(problems, 'host.get_servertime', 'params (host: string)', 'reference (host: host ref)');
  has(problems, 'host.get_servertime', 'result string', 'reference datetime');
});

test('a wrong role list is reported, for declared and for derived messages', () => {
  const join = message('join', { doc: 'x', params: joinParams, role: 'read-only' });
  const problems = check(cls('pool', { doc: 'x', writeRole: 'vm-admin', fields: [rw('name_label', t.string, 'x')], messages: [join] }));
  has(problems, 'pool.join', 'roles [pool-admin', 'read-only]', 'reference [pool-admin, pool-operator]');
  has(problems, 'pool.set_name_label', 'roles [pool-admin, pool-operator, vm-power-admin, vm-admin]');
});

test('unknown and undeclared error codes are reported', () => {
  const join = message('join', { doc: 'x', params: joinParams, role: 'pool-operator', errors: ['JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS', 'NO_SUCH_XAPI_ERROR', 'NOT_IN_ERRORS_TS'] });
  const problems = check(cls('pool', { doc: 'x', fields: [], messages: [join] }));
  has(problems, 'pool.join', 'NO_SUCH_XAPI_ERROR is unknown');
  has(problems, 'pool.join', 'NOT_IN_ERRORS_TS is not declared');
  assert.ok(!problems.some((p) => p.includes('JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS')));
});

test('names absent from the reference are reported unless islet_-prefixed', () => {
  const problems = check(cls('pool', {
    doc: 'x',
    fields: [runtime('frobnication', t.int, 'x'), runtime('islet_frobnication', t.int, 'x')],
    messages: [message('frobnicate', { doc: 'x' }), message('islet_frobnicate', { doc: 'x' })],
  }), cls('frobnicator', { doc: 'x', fields: [] }));
  has(problems, 'field pool.frobnication', 'not in the reference');
  has(problems, 'message pool.frobnicate', 'not in the reference');
  has(problems, 'class frobnicator', 'not in the reference');
  assert.ok(!problems.some((p) => p.includes('islet_')), problems.join('\n'));
});

test('a session mismatch and wrong enum values are reported', () => {
  const wrongEnum = enumDecl('vm_power_state', ['Halted', 'Running']);
  const problems = check(cls('session', {
    doc: 'x', fields: [],
    messages: [message('logout', { doc: 'x', role: 'read-only', sessionless: true })],
  }), cls('VM', { doc: 'x', fields: [runtime('power_state', t.enum(wrongEnum), 'x', { default: 'Halted' })] }));
  has(problems, 'session.logout', 'sessionless');
  has(problems, 'enum vm_power_state', 'values [Halted, Running]');
});

test('an inverse pointing at nothing is reported', () => {
  const c = cls('host', { doc: 'x', fields: [ctor('PBDs', t.set(t.ref('PBD')), 'x', { inverse: { cls: 'PBD', field: 'host' } })] });
  has(check(c), 'host.PBDs', 'PBD.host', 'not declared');
});

test('a malformed error table is reported', () => {
  const problems = checkErrorTable({ lower_case: [], GOOD_CODE: ['a', 'a'], OTHER: [''] });
  has(problems, 'lower_case', 'UPPER_SNAKE');
  has(problems, 'GOOD_CODE', 'duplicate');
  has(problems, 'OTHER', 'non-empty');
});
