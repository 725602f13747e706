import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { classes, classByName } from '../../../src/datamodel/index.js';
import { t, type Ty } from '../../../src/datamodel/dsl.js';
import { encodeTyped, preEncoded, toJson, type FieldResolver } from '../../../src/api/wire/typed-value.js';
import { anyToJson, encodeTypedJson } from '../../../src/api/wire/json-encode.js';

const resolve: FieldResolver = (cls) => classByName(cls)?.fields;

/** Values of declared type `ty`, in the forms actions hand the encoder (odd ones included). */
function valueOf(ty: Ty, depth = 0): fc.Arbitrary<unknown> {
  switch (ty.kind) {
    case 'string': case 'ref': return fc.oneof(fc.string(), fc.constant(undefined), fc.constant(null), fc.integer());
    case 'enum': return fc.constantFrom(...ty.values);
    case 'int': return fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }), fc.integer().map(String));
    case 'float': return fc.oneof(fc.double(), fc.integer().map(String));
    case 'bool': return fc.oneof(fc.boolean(), fc.constantFrom('true', 'false'));
    case 'datetime': return fc.oneof(fc.constant('20250319T04:16:24Z'), fc.date({ noInvalidDate: true }));
    case 'set': return fc.array(valueOf(ty.of, depth + 1), { maxLength: 3 });
    case 'map': return fc.dictionary(fc.oneof(fc.string(), fc.constant('__proto__')), valueOf(ty.value, depth + 1), { maxKeys: 3 });
    case 'record': return depth > 1 ? fc.constant({}) : recordOf(ty.cls, depth + 1);
    case 'any': return anyValue;
    case 'void': return fc.constant('');
  }
}

const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined),
    fc.bigInt({ min: -1000n, max: 1000n }), fc.date({ noInvalidDate: true }),
    fc.constant(preEncoded({ t: 'i4', v: 7 })),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.string(), tie('v'), { maxKeys: 3 }),
  ),
})).v;

function recordOf(cls: string, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const fields = resolve(cls) ?? [];
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) parts[f.name] = valueOf(f.ty, depth);
  return fc.record(parts, { requiredKeys: [] });
}

describe('encodeTypedJson', () => {
  it('gives what toJson(encodeTyped()) gives, for records of every class', () => {
    for (const c of classes) {
      const ty = t.record(c.name);
      fc.assert(fc.property(recordOf(c.name), (rec) => {
        let want: unknown;
        try {
          want = toJson(encodeTyped(rec, ty, resolve));
        } catch (e) {
          assert.throws(() => encodeTypedJson(rec, ty, resolve), { message: (e as Error).message });
          return;
        }
        assert.deepStrictEqual(encodeTypedJson(rec, ty, resolve), want);
      }), { numRuns: 25 });
    }
  });

  it('gives what toJson(encodeTyped()) gives for untyped values', () => {
    fc.assert(fc.property(anyValue, (v) => {
      assert.deepStrictEqual(anyToJson(v), toJson(encodeTyped(v, t.any, resolve)));
      assert.deepStrictEqual(encodeTypedJson(v, t.any, resolve), toJson(encodeTyped(v, t.any, resolve)));
    }), { numRuns: 300 });
  });

  it('keeps a "__proto__" map key as a member and leaves internal fields out', () => {
    const m = encodeTypedJson(JSON.parse('{"__proto__": "x", "a": "b"}'), t.smap) as Record<string, unknown>;
    assert.ok(Object.hasOwn(m, '__proto__'));
    assert.equal(JSON.stringify(m), '{"__proto__":"x","a":"b"}');
    const session = classByName('session')!;
    const hidden = session.fields.filter((f) => f.internal);
    const out = encodeTypedJson({}, t.record('session'), resolve) as Record<string, unknown>;
    for (const f of hidden) assert.ok(!(f.name in out), f.name);
    assert.equal(JSON.stringify(encodeTypedJson(NaN, t.float)), 'null');
  });
});
