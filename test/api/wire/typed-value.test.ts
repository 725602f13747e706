import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ctor, enumDecl, rw, runtime, t, type FieldDecl } from '../../../src/datamodel/dsl.js';
import { ApiError } from '../../../src/core/api-error.js';
import {
  type FieldResolver, decodeArg, encodeTyped, preEncoded, toJson, toXmlValue,
} from '../../../src/api/wire/typed-value.js';
import { parseXmlRpcValue, xmlRpcSuccess } from '../../../src/api/wire/xmlrpc.js';
import { encodeTypedJson } from '../../../src/api/wire/json-encode.js';
import { normalizeXapiDate } from '../../../src/api/wire/xapi-date.js';

const power = enumDecl('vm_power_state', ['Halted', 'Paused', 'Running', 'Suspended'] as const);
const fields: Record<string, readonly FieldDecl[]> = {
  thing: [
    runtime('uuid', t.string, 'id'),
    rw('name_label', t.string, 'name'),
    ctor('size', t.int, 'bytes'),
    runtime('progress', t.float, 'fraction'),
    rw('enabled', t.bool, 'on'),
    runtime('created', t.datetime, 'when'),
    runtime('power_state', t.enum(power), 'state'),
    runtime('parent', t.ref('thing'), 'parent'),
    runtime('children', t.set(t.ref('thing')), 'children'),
    rw('other_config', t.smap, 'misc'),
    runtime('counts', t.map(t.int, t.int), 'by slot'),
    runtime('secret', t.string, 'hash', { internal: true }),
  ],
};
const resolve: FieldResolver = (cls) => fields[cls];

/** Asserts FIELD_TYPE_ERROR naming `where`. */
function typeError(fn: () => unknown, where: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ApiError && e.code === 'FIELD_TYPE_ERROR' && e.params[0] === where);
}

describe('encodeTyped', () => {
  const thing = {
    uuid: 'u1', name_label: 'a & b', size: 2 ** 53, progress: 0.5, enabled: true, created: '20250319T04:16:24Z',
    power_state: 'Running', parent: 'OpaqueRef:NULL', children: ['OpaqueRef:1'], other_config: { k: 'v' },
    counts: { 0: 3, 10: 1 }, secret: 'must not leak',
  };

  it('tags each field by its declared type and leaves internal fields out', () => {
    const w = encodeTyped(thing, t.record('thing'), resolve);
    assert.deepEqual(w, {
      t: 'struct', v: {
        uuid: { t: 'string', v: 'u1' }, name_label: { t: 'string', v: 'a & b' }, size: { t: 'int', v: 2 ** 53 },
        progress: { t: 'double', v: 0.5 }, enabled: { t: 'bool', v: true },
        created: { t: 'datetime', v: '20250319T04:16:24Z' }, power_state: { t: 'string', v: 'Running' },
        parent: { t: 'string', v: 'OpaqueRef:NULL' }, children: { t: 'array', v: [{ t: 'string', v: 'OpaqueRef:1' }] },
        other_config: { t: 'struct', v: { k: { t: 'string', v: 'v' } } },
        counts: { t: 'struct', v: { 0: { t: 'int', v: 3 }, 10: { t: 'int', v: 1 } } },
      },
    });
    assert.ok(!toXmlValue(w).includes('must not leak'));
  });

  it('renders for JSON with numbers and strings, and for XML with ints as strings', () => {
    const w = encodeTyped(thing, t.record('thing'), resolve);
    const json = toJson(w) as Record<string, unknown>;
    assert.equal(json.size, 2 ** 53);
    assert.equal(json.created, '20250319T04:16:24Z');
    assert.deepEqual(json.counts, { 0: 3, 10: 1 });
    assert.equal(JSON.stringify(toJson({ t: 'double', v: NaN })), 'null');
    const xml = parseXmlRpcValue(toXmlValue(w)) as Record<string, unknown>;
    assert.equal(xml.size, '9007199254740992');
    assert.deepEqual(xml.counts, { 0: '3', 10: '1' });
  });

  it('fills a field missing from the value with its declared default', () => {
    const w = toJson(encodeTyped({ uuid: 'u2' }, t.record('thing'), resolve)) as Record<string, unknown>;
    assert.deepEqual(w, {
      uuid: 'u2', name_label: '', size: 0, progress: 0, enabled: false, created: '19700101T00:00:00Z',
      power_state: 'Halted', parent: 'OpaqueRef:NULL', children: [], other_config: {}, counts: {},
    });
  });

  it('encodes void as the empty string and any by inspecting the value', () => {
    assert.deepEqual(encodeTyped(undefined, t.void), { t: 'string', v: '' });
    assert.deepEqual(encodeTyped({ a: 1, b: 1.5, c: [true, 'x'], d: null, e: new Date(0) }, t.any), {
      t: 'struct', v: {
        a: { t: 'int', v: 1 }, b: { t: 'double', v: 1.5 },
        c: { t: 'array', v: [{ t: 'bool', v: true }, { t: 'string', v: 'x' }] },
        d: { t: 'string', v: '' }, e: { t: 'datetime', v: '19700101T00:00:00Z' },
      },
    });
  });

  it('passes pre-encoded parts of an any value through (event.from)', () => {
    const result = {
      events: [{ id: '1', class: 'thing', operation: 'add', ref: 'OpaqueRef:1',
        snapshot: preEncoded(encodeTyped(thing, t.record('thing'), resolve)) }],
      valid_ref_counts: { task: preEncoded({ t: 'i4', v: 2 }) },
      token: '00000000000000000001,00000000000000000000',
    };
    const xml = xmlRpcSuccess(encodeTyped(result, t.any));
    assert.ok(xml.includes('<member><name>task</name><value><i4>2</i4></value></member>'));
    assert.ok(xml.includes('<member><name>size</name><value>9007199254740992</value></member>'));
    assert.ok(!xml.includes('secret'));
  });

  it('refuses values that do not fit their type (a server bug, reported as INTERNAL_ERROR)', () => {
    assert.throws(() => encodeTyped('x', t.set(t.string)), /cannot encode/);
    assert.throws(() => encodeTyped('many', t.int), /cannot encode/);
    assert.throws(() => encodeTyped({}, t.record('nope'), resolve), /no field declarations/);
    assert.throws(() => encodeTyped(null, t.int), /cannot encode/);
  });

  it('reads a null float (JSON\'s NaN or Infinity, from a host that ran the call) as NaN', () => {
    assert.ok(Number.isNaN((encodeTyped(null, t.float) as { v: number }).v));
    assert.equal(encodeTypedJson(null, t.float), null);
  });

  it('encodes a record of 100 fields, every kind of value', () => {
    const big: FieldDecl[] = [];
    const value: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      const kind = i % 5;
      const ty = [t.string, t.int, t.bool, t.smap, t.set(t.ref('x'))][kind]!;
      big.push(runtime(`f${i}`, ty, 'f'));
      value[`f${i}`] = ['value', i * 1000, true, { a: 'b' }, ['OpaqueRef:1', 'OpaqueRef:2']][kind];
    }
    const r: FieldResolver = () => big;
    const xml = toXmlValue(encodeTyped(value, t.record('big'), r));
    assert.equal((xml.match(/<member>/g) ?? []).length, 100 + 20);
    assert.match(xml, /<name>f1<\/name><value>1000<\/value>/);
  });
});

describe('decodeArg', () => {
  it('accepts ints as numbers or decimal strings, up to int64', () => {
    assert.equal(decodeArg('123', t.int, 'size'), 123);
    assert.equal(decodeArg('-9007199254740991', t.int, 'size'), -9007199254740991);
    assert.equal(decodeArg(2 ** 53, t.int, 'size'), 2 ** 53);
    assert.equal(decodeArg('+7', t.int, 'size'), 7);
    for (const bad of ['1.5', '', ' 1', '0x10', 'abc', 1.5, true, null, [], {}, '99999999999999999999']) {
      typeError(() => decodeArg(bad, t.int, 'size'), 'size');
    }
  });

  it('accepts floats as numbers or numeric strings', () => {
    assert.equal(decodeArg(60.1, t.float, 'timeout'), 60.1);
    assert.equal(decodeArg('60.1', t.float, 'timeout'), 60.1);
    assert.equal(decodeArg('3', t.float, 'timeout'), 3);
    assert.equal(decodeArg('1e3', t.float, 'timeout'), 1000);
    for (const bad of ['x', '1.2.3', '', true, null]) typeError(() => decodeArg(bad, t.float, 'timeout'), 'timeout');
  });

  it('accepts bools and the strings true/false', () => {
    assert.equal(decodeArg(true, t.bool, 'force'), true);
    assert.equal(decodeArg('false', t.bool, 'force'), false);
    assert.equal(decodeArg('True', t.bool, 'force'), true);
    for (const bad of ['1', 1, 0, 'yes', null]) typeError(() => decodeArg(bad, t.bool, 'force'), 'force');
  });

  it('normalises datetimes to xapi form', () => {
    const cases: [string, string][] = [
      ['20250319T04:16:24Z', '20250319T04:16:24Z'],
      ['20250319T04:16:24', '20250319T04:16:24Z'],
      ['2025-03-19T04:16:24Z', '20250319T04:16:24Z'],
      ['2025-03-19T04:16:24.123Z', '20250319T04:16:24Z'],
      ['2025-03-19T06:16:24+02:00', '20250319T04:16:24Z'],
      ['2025-03-19T00:16:24-0400', '20250319T04:16:24Z'],
      ['20250319T041624Z', '20250319T04:16:24Z'],
      ['19700101T00:00:00Z', '19700101T00:00:00Z'],
      ['00010101T00:00:00Z', '00010101T00:00:00Z'],
    ];
    for (const [input, want] of cases) assert.equal(decodeArg(input, t.datetime, 'since'), want, input);
    for (const bad of ['20250230T00:00:00Z', '2025-03-19', 'yesterday', '2025-03-19T25:00:00Z', '2025-0319T04:16:24Z', 0, null]) {
      typeError(() => decodeArg(bad, t.datetime, 'since'), 'since');
    }
    assert.equal(normalizeXapiDate('x'.repeat(100_000)), undefined);
  });

  it('matches enum values in any case and returns the declared spelling', () => {
    assert.equal(decodeArg('Running', t.enum(power), 'state'), 'Running');
    assert.equal(decodeArg('running', t.enum(power), 'state'), 'Running');
    typeError(() => decodeArg('flying', t.enum(power), 'state'), 'state');
    typeError(() => decodeArg(1, t.enum(power), 'state'), 'state');
  });

  it('requires strings for refs and strings, arrays for sets, objects for maps', () => {
    assert.equal(decodeArg('OpaqueRef:1', t.ref('VM'), 'vm'), 'OpaqueRef:1');
    typeError(() => decodeArg(1, t.ref('VM'), 'vm'), 'vm');
    typeError(() => decodeArg(null, t.string, 'label'), 'label');
    typeError(() => decodeArg(5, t.string, 'label'), 'label');
    assert.deepEqual(decodeArg(['1', '2'], t.set(t.int), 'xs'), [1, 2]);
    typeError(() => decodeArg('1', t.set(t.int), 'xs'), 'xs');
    typeError(() => decodeArg(['1', 'x'], t.set(t.int), 'xs'), 'xs');
    assert.deepEqual(decodeArg({ a: 'b' }, t.smap, 'other_config'), { a: 'b' });
    typeError(() => decodeArg(['a'], t.smap, 'other_config'), 'other_config');
    typeError(() => decodeArg({ a: 1 }, t.smap, 'other_config'), 'other_config');
  });

  it('decodes int-keyed maps with decimal-string keys', () => {
    assert.deepEqual(decodeArg({ '007': '3', 10: 4 }, t.map(t.int, t.int), 'counts'), { 7: 3, 10: 4 });
    typeError(() => decodeArg({ x: '3' }, t.map(t.int, t.int), 'counts'), 'counts');
  });

  it('keeps a __proto__ map key as data', () => {
    const m = decodeArg(JSON.parse('{"__proto__":"x"}'), t.smap, 'm') as Record<string, string>;
    assert.equal(Object.getPrototypeOf(m), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(m, '__proto__')?.value, 'x');
  });

  it('decodes records field by field, ignoring unknown and internal fields, leaving missing ones absent', () => {
    const r = decodeArg({
      name_label: 'n', size: '10', enabled: 'true', power_state: 'halted', other_config: { a: 'b' },
      bogus: 1, secret: 'set by client',
    }, t.record('thing'), 'args', resolve);
    assert.deepEqual(r, { name_label: 'n', size: 10, enabled: true, power_state: 'Halted', other_config: { a: 'b' } });
    typeError(() => decodeArg({ size: 'big' }, t.record('thing'), 'args', resolve), 'size');
    typeError(() => decodeArg('x', t.record('thing'), 'args', resolve), 'args');
  });

  it('round-trips a record through encode, both codecs and decode', () => {
    const thing = {
      uuid: 'u', name_label: '<&> 日本', size: 2 ** 53, progress: 0.25, enabled: false, created: '20250319T04:16:24Z',
      power_state: 'Paused', parent: 'OpaqueRef:p', children: [], other_config: { x: 'y' }, counts: { 3: 4 },
    };
    const w = encodeTyped(thing, t.record('thing'), resolve);
    assert.deepEqual(decodeArg(parseXmlRpcValue(toXmlValue(w)), t.record('thing'), 'r', resolve), thing);
    assert.deepEqual(decodeArg(JSON.parse(JSON.stringify(toJson(w))), t.record('thing'), 'r', resolve), thing);
  });

  it('passes any through and turns void into the empty string', () => {
    const v = { a: [1] };
    assert.equal(decodeArg(v, t.any, 'x'), v);
    assert.equal(decodeArg('whatever', t.void, 'x'), '');
  });
});
