/**
 * @module
 * Turning an `ova.xml` record back into a row this pool can store: each field the creator of
 * such an object may set is converted to its declared type (XML-RPC carries integers as
 * strings, enums in any case), export ids become the refs of the objects made by this
 * import, and anything that does not fit its type is left to the field's default rather
 * than failing the import.
 */
import type { Row } from '../../../core/ports/pool-db.js';
import { NULL_REF } from '../../../core/ref.js';
import { classByName, type ClassName } from '../../../datamodel/index.js';
import type { RecordOf } from '../../../core/record-of.js';
import type { Ty } from '../../../datamodel/dsl.js';
import type { XmlValue } from './xva-ova-xml.js';

const SKIP = Symbol('skip');

function conv(ty: Ty, v: XmlValue, ids: ReadonlyMap<string, string>): unknown {
  switch (ty.kind) {
    case 'string': case 'datetime':
      return typeof v === 'object' ? SKIP : String(v);
    case 'int': {
      const n = typeof v === 'number' ? v : Number(v);
      return Number.isSafeInteger(n) ? n : SKIP;
    }
    case 'float': {
      const n = typeof v === 'number' ? v : Number(v);
      return Number.isFinite(n) ? n : SKIP;
    }
    case 'bool':
      return v === true || v === 1 || v === 'true' || v === '1' ? true : v === false || v === 0 || v === 'false' || v === '0' ? false : SKIP;
    case 'enum': {
      const s = String(v).toLowerCase();
      return ty.values.find((x) => x.toLowerCase() === s) ?? SKIP;
    }
    case 'ref':
      return ids.get(String(v)) ?? NULL_REF;
    case 'set': {
      if (!Array.isArray(v)) return SKIP;
      const out = v.map((x) => conv(ty.of, x, ids)).filter((x) => x !== SKIP && !(ty.of.kind === 'ref' && x === NULL_REF));
      return out;
    }
    case 'map': {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return SKIP;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const c = conv(ty.value, x, ids);
        if (c !== SKIP) out[ty.key.kind === 'ref' ? (ids.get(k) ?? k) : k] = c;
      }
      return out;
    }
    default:
      return SKIP;
  }
}

/**
 * The creator-settable fields of `snapshot` as a row of class `cls`, each converted to
 * its declared type (which is why the result may be typed as the class's record).
 */
export function importRecord<C extends ClassName>(cls: C, snapshot: Record<string, XmlValue>, ids: ReadonlyMap<string, string>): Partial<RecordOf<C>> {
  const c = classByName(cls);
  if (!c) throw new Error(`datamodel: no class ${cls}`);
  const out: Row = {};
  for (const f of c.fields) {
    if (f.inverse || f.internal || f.qualifier === 'RO/runtime' || f.name === 'uuid') continue;
    const v = snapshot[f.name];
    if (v === undefined) continue;
    const x = conv(f.ty, v, ids);
    if (x !== SKIP) out[f.name] = x;
  }
  return out as Partial<RecordOf<C>>;
}
