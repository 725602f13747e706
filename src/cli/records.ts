/**
 * @module
 * xe's view of each class, derived from the datamodel: a field per datamodel field (xe name
 * = field name with `_` → `-`), shaped, ordered, renamed and completed by the xe overlay
 * (`record-overlays.ts`). A field knows its qualifier (`( RO)`, `( RW)`, `(SRO)`, `(SRW)`,
 * `(MRO)`, `(MRW)`), how to render its value and, for sets and maps, its members, which the
 * generic `-list` filters and `-param-*` commands use.
 */
import { classByName } from '../datamodel/index.js';
import type { ClassDecl, FieldDecl, Ty } from '../datamodel/dsl.js';
import { type ClassOverlay, type DerivedField, type Row, overlays } from './record-overlays.js';
import type { RefResolver } from './ref-resolver.js';
import { hasRefs, mapPairs, refClasses, renderValue, setItems } from './value-render.js';

export type { Row };
export type FieldShape = 'scalar' | 'set' | 'map';

export interface CliField {
  readonly name: string;
  /** The datamodel field behind it; absent for fields xe computes. */
  readonly decl: FieldDecl | undefined;
  readonly shape: FieldShape;
  /** A scalar with a setter (`param-set`). */
  readonly settable: boolean;
  /** A set or map with add/remove calls (`param-add`, `param-remove`, `map:key=` sets). */
  readonly addable: boolean;
  readonly hidden: boolean;
  /** Classes whose records rendering this field may need for a row. */
  needs(row: Row): readonly string[];
  get(row: Row, res: RefResolver): string;
  /** Set members (rendered). */
  items(row: Row, res: RefResolver): string[];
  /** Map pairs, values rendered. */
  pairs(row: Row, res: RefResolver): Array<[string, string]>;
}

export interface CliClass {
  readonly xe: string;
  readonly api: string;
  readonly decl: ClassDecl;
  readonly fields: readonly CliField[];
  readonly defaultParams: readonly string[];
  readonly defaultFilters: ReadonlyArray<readonly [string, string]>;
  /** The server expression a listing always uses (see `ClassOverlay.listWhere`). */
  readonly listWhere?: string;
  readonly plural: string;
}

/** ` ( RO)`, `(SRW)`… as xe appends it to a field name. */
export function qualifierSuffix(f: CliField): string {
  if (f.shape === 'set') return f.addable ? ' (SRW)' : ' (SRO)';
  if (f.shape === 'map') return f.addable ? ' (MRW)' : ' (MRO)';
  return f.settable ? ' ( RW)' : ' ( RO)';
}

function xeNameOf(o: ClassOverlay, api: string): string {
  const renamed = o.rename?.[api];
  if (renamed) return renamed;
  const dashed = api.replaceAll('_', '-');
  if (!o.order || o.order.includes(dashed) || !o.order.includes(api)) return dashed;
  return api;
}

function isOpMap(f: FieldDecl): boolean {
  return f.ty.kind === 'map' && f.name === 'current_operations';
}

function naturalShape(ty: Ty, f: FieldDecl): FieldShape {
  if (ty.kind === 'set' || isOpMap(f)) return 'set';
  return ty.kind === 'map' ? 'map' : 'scalar';
}

function modelField(o: ClassOverlay, c: ClassDecl, f: FieldDecl): CliField {
  const name = xeNameOf(o, f.name);
  const natural = naturalShape(f.ty, f);
  // xe's lists speak only for the fields xe has; the datamodel's extra fields keep their own shape.
  const known = o.order?.includes(name) ?? false;
  const shape: FieldShape = o.multi && known ? (o.multi.includes(name) ? natural : 'scalar') : natural;
  const hasMsg = (m: string) => c.messages.some((x) => x.name === m);
  const rw = f.qualifier === 'RW';
  const settable = shape === 'scalar' && natural === 'scalar'
    && (o.settable && known ? o.settable.includes(name) : true) && (rw || hasMsg(`set_${f.name}`));
  const addable = shape !== 'scalar'
    && (o.addable && known ? o.addable.includes(name) : true) && (rw || hasMsg(f.ty.kind === 'set' ? `add_${f.name}` : `add_to_${f.name}`));
  const sep = o.comma?.includes(name) ? ', ' : '; ';
  const transform = o.transform?.[name];
  const classes = refClasses(f.ty);
  return {
    name, decl: f, shape, settable, addable,
    hidden: !!f.internal || !!o.hidden?.includes(name),
    needs: (row) => (classes.length && hasRefs(f.ty, row.rec[f.name]) ? classes : []),
    get: ({ rec }, res) => {
      const v = rec[f.name];
      if (isOpMap(f)) return setItems(f.ty, v, res).join(sep);
      const s = renderValue(f.ty, v, res, sep);
      return transform ? transform(s) : s;
    },
    items: ({ rec }, res) => setItems(f.ty, rec[f.name], res),
    pairs: ({ rec }, res) => mapPairs(f.ty, rec[f.name], res),
  };
}

function derivedField(d: DerivedField): CliField {
  return {
    name: d.name, decl: undefined, shape: d.shape ?? 'scalar', settable: false, addable: false, hidden: false,
    needs: () => d.loads,
    get: d.get,
    items: (row, res) => d.items?.(row, res) ?? [],
    pairs: () => [],
  };
}

function buildClass(o: ClassOverlay, c: ClassDecl): CliClass {
  const derived = (o.derived ?? []).map(derivedField);
  const taken = new Set(derived.map((d) => d.name));
  const model = c.fields.map((f) => modelField(o, c, f)).filter((f) => !taken.has(f.name));
  const all = [...model, ...derived];
  const rank = (f: CliField): number => {
    const i = o.order ? o.order.indexOf(f.name) : -1;
    return i >= 0 ? i : Number.MAX_SAFE_INTEGER;
  };
  // uuid first, xe's order next, then the datamodel's remaining fields in declaration order.
  const fields = all
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (a.f.name === 'uuid' ? -1 : b.f.name === 'uuid' ? 1 : rank(a.f) - rank(b.f) || a.i - b.i))
    .map(({ f }) => f);
  return {
    xe: o.xe, api: o.api, decl: c, fields,
    defaultParams: o.defaultParams,
    defaultFilters: o.defaultFilters ?? [],
    ...(o.listWhere === undefined ? {} : { listWhere: o.listWhere }),
    plural: o.xe === 'patch' ? 'patches' : `${o.xe}s`,
  };
}

/** Classes built so far, by overlay: a command needs one or two, so each is built on first use. */
const built = new Map<ClassOverlay, CliClass | undefined>();

function classFor(o: ClassOverlay): CliClass | undefined {
  if (!built.has(o)) {
    const c = classByName(o.api);
    built.set(o, c ? buildClass(o, c) : undefined);
  }
  return built.get(o);
}

/** Every class xe has commands for, among those the datamodel declares. */
export function cliClasses(): readonly CliClass[] {
  return overlays.map(classFor).filter((c): c is CliClass => c !== undefined);
}

export function cliClass(xe: string): CliClass | undefined {
  for (const o of overlays) {
    if (o.xe !== xe) continue;
    const cc = classFor(o);
    if (cc) return cc;
  }
  return undefined;
}

export function fieldByName(cc: CliClass, name: string): CliField | undefined {
  return cc.fields.find((f) => f.name === name);
}

/** The fields rendering `rows` needs resolved, fetched together. */
export async function prepare(fields: readonly CliField[], rows: readonly Row[], res: RefResolver): Promise<void> {
  const classes = new Set<string>();
  for (const f of fields) for (const row of rows) for (const c of f.needs(row)) classes.add(c);
  await res.loadAll(classes);
}

