/**
 * xe's records derived from the datamodel: names, qualifiers, order, rendering and the
 * filter syntax, checked against facts of xapi's records.ml and cli_operations.ml.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliFailure, UnknownParam } from '../../src/cli/cli-errors.js';
import { fieldRef } from '../../src/cli/record-filter.js';
import { type CliClass, cliClass, fieldByName, qualifierSuffix } from '../../src/cli/records.js';
import { RefResolver } from '../../src/cli/ref-resolver.js';
import { renderDate, renderValue } from '../../src/cli/value-render.js';
import { t } from '../../src/datamodel/dsl.js';

function must(xe: string): CliClass {
  const c = cliClass(xe);
  assert.ok(c, `xe class ${xe}`);
  return c;
}

function shown(c: CliClass, name: string): string {
  const f = fieldByName(c, name);
  assert.ok(f, `${c.xe} field ${name}`);
  return `${f.name}${qualifierSuffix(f)}`;
}

const noCalls = new RefResolver(async () => { throw new Error('no call expected'); });

describe('records', () => {
  it('names host fields as xe does, uuid first', () => {
    const host = must('host');
    assert.equal(host.fields[0]!.name, 'uuid');
    assert.equal(shown(host, 'uuid'), 'uuid ( RO)');
    assert.equal(shown(host, 'name-label'), 'name-label ( RW)');
    assert.equal(shown(host, 'other-config'), 'other-config (MRW)');
    assert.equal(shown(host, 'tags'), 'tags (SRW)');
    assert.equal(shown(host, 'allowed-operations'), 'allowed-operations (SRO)');
    assert.equal(shown(host, 'software-version'), 'software-version (MRO)');
    // records.ml keeps these spellings rather than the `_` → `-` rule.
    assert.ok(fieldByName(host, 'cpu_info'));
    assert.ok(fieldByName(host, 'suspend-image-sr-uuid'));
    assert.ok(fieldByName(host, 'resident-vms'));
    // xe shows host.address read-only although the API has a setter.
    assert.equal(shown(host, 'address'), 'address ( RO)');
  });

  it('keeps xe record order, not the order of the params= list', () => {
    const names = must('host').fields.map((f) => f.name);
    assert.ok(names.indexOf('name-label') < names.indexOf('name-description'));
    assert.ok(names.indexOf('allowed-operations') < names.indexOf('enabled'));
  });

  it('has xe default list fields and filters', () => {
    const vm = must('vm');
    assert.deepEqual(vm.defaultParams, ['name-label', 'uuid', 'power-state']);
    assert.deepEqual(vm.defaultFilters, [['is-a-template', 'false']]);
    assert.deepEqual(must('template').defaultFilters, [['is-a-template', 'true'], ['is-a-snapshot', 'false']]);
    assert.deepEqual(must('snapshot').defaultFilters, [['is-a-snapshot', 'true']]);
    assert.deepEqual(must('host').defaultParams, ['uuid', 'name-label', 'name-description']);
    assert.deepEqual(must('pool').defaultParams, ['uuid', 'name-label', 'name-description', 'master', 'default-SR']);
    assert.equal(must('patch').api, 'pool_patch');
    assert.equal(must('patch').plural, 'patches');
  });

  it('prints VM power states in lower case', () => {
    const f = fieldByName(must('vm'), 'power-state')!;
    assert.equal(f.get({ ref: 'OpaqueRef:x', rec: { power_state: 'Running' } }, noCalls), 'running');
  });

  it('renders values as xe does', () => {
    assert.equal(renderDate('2025-03-19T04:16:24Z'), '20250319T04:16:24Z');
    assert.equal(renderDate('19700101T00:00:00Z'), '19700101T00:00:00Z');
    assert.equal(renderValue(t.float, 0.5, noCalls), '0.500');
    assert.equal(renderValue(t.bool, true, noCalls), 'true');
    assert.equal(renderValue(t.int, 42, noCalls), '42');
    assert.equal(renderValue(t.set(t.string), ['a', 'b'], noCalls), 'a; b');
    assert.equal(renderValue(t.smap, { k: 'v', k2: 'v2' }, noCalls), 'k: v; k2: v2');
    assert.equal(renderValue(t.ref('SR'), 'OpaqueRef:NULL', noCalls), '<not in database>');
  });

  it('resolves references to uuids with one get_all_records per class', async () => {
    const calls: string[] = [];
    const res = new RefResolver(async (m) => {
      calls.push(m);
      return { 'OpaqueRef:h1': { uuid: 'host-uuid-1', name_label: 'h1' } };
    });
    await Promise.all([res.load('host'), res.load('host')]);
    assert.deepEqual(calls, ['host.get_all_records']);
    assert.equal(renderValue(t.set(t.ref('host')), ['OpaqueRef:h1', 'OpaqueRef:gone'], res), 'host-uuid-1; <not in database>');
    assert.equal(res.name('host', 'OpaqueRef:h1'), 'h1');
  });

  it('treats a class the server does not serve as unresolvable', async () => {
    const res = new RefResolver(async () => { throw new Error('MESSAGE_METHOD_UNKNOWN'); });
    await res.load('Nope');
    assert.equal(res.uuid('Nope', 'OpaqueRef:1'), '<not in database>');
  });
});

describe('filter syntax', () => {
  const host = () => must('host');
  it('reads field, map:key, set:contains and the legacy map-key form', () => {
    assert.equal(fieldRef(host(), 'name-label').kind, 'normal');
    const m = fieldRef(host(), 'other-config:foo');
    assert.ok(m.kind === 'map' && m.key === 'foo' && m.field.name === 'other-config');
    const s = fieldRef(host(), 'tags:contains');
    assert.ok(s.kind === 'set' && s.rest === 'contains');
    const legacy = fieldRef(host(), 'other-config-foo');
    assert.ok(legacy.kind === 'map' && legacy.key === 'foo');
  });

  it('fails on unknown fields and on key syntax for plain fields', () => {
    assert.throws(() => fieldRef(host(), 'bogus'), (e) => e instanceof UnknownParam && e.param === 'bogus');
    assert.throws(() => fieldRef(host(), 'name-label:x'), (e) => e instanceof CliFailure && /not a set or map/.test(e.message));
  });
});
