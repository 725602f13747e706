/**
 * @module
 * The messages every class gets without declaring them, derived from its fields exactly as
 * xapi derives them: `get_record`, `get_by_uuid`, `get_by_name_label`, `get_all`,
 * `get_all_records`, a getter per field, a setter per RW field, `add_to_`/`remove_from_`
 * for RW maps, `add_`/`remove_` for RW sets, and the generic `create`/`destroy`. Names,
 * parameter names and roles follow xenapi.json, which the conformance test checks.
 */
import { type ClassDecl, type FieldDecl, type MessageDecl, type ParamDecl, type Ty, param, t } from './dsl.js';
import { classByName } from './index.js';
import { type Role, rolesFrom } from './roles.js';

export type ImplicitOp =
  | 'get_record' | 'get_by_uuid' | 'get_by_name_label' | 'get_all' | 'get_all_records'
  | 'get_all_records_where' | 'get' | 'set' | 'add_to' | 'remove_from' | 'create' | 'destroy';

/** A derived message; `op` says which generic action serves it, `field` which field it touches. */
export interface ImplicitMessage extends MessageDecl {
  readonly implicit: { readonly op: ImplicitOp; readonly field?: string };
}

interface Spec {
  name: string;
  op: ImplicitOp;
  field?: string;
  doc: string;
  params: ParamDecl[];
  result?: Ty;
  resultDoc?: string;
  roles: readonly Role[];
  async?: boolean;
  internal?: boolean;
}

function build(s: Spec): ImplicitMessage {
  return {
    name: s.name,
    doc: s.doc,
    params: s.params,
    result: s.result ?? t.void,
    resultDoc: s.resultDoc ?? '',
    errors: [],
    roles: s.roles,
    async: s.async ?? false,
    sessionless: false,
    internal: s.internal ?? false,
    implicit: s.field === undefined ? { op: s.op } : { op: s.op, field: s.field },
  };
}

/** Roles of a field's setter and of its add/remove companions. */
export function fieldWriteRoles(c: ClassDecl, f: FieldDecl): readonly Role[] {
  return f.writeRoles ?? rolesFrom(f.writeRole ?? c.writeRole);
}

function fieldMessages(c: ClassDecl, f: FieldDecl): Spec[] {
  const self = param('self', t.ref(c.name), `The ${c.name} to act on`);
  const read = rolesFrom(c.readRole);
  const out: Spec[] = [{
    name: `get_${f.name}`, op: 'get', field: f.name, doc: `Returns the ${f.name} field`,
    params: [self], result: f.ty, resultDoc: 'Its current value', roles: read,
  }];
  if (f.qualifier !== 'RW') return out;
  const write = fieldWriteRoles(c, f);
  out.push({
    name: `set_${f.name}`, op: 'set', field: f.name, doc: `Changes the ${f.name} field`,
    params: [self, param('value', f.ty, 'The new value')], roles: write,
  });
  if (f.ty.kind === 'map') {
    out.push({
      name: `add_to_${f.name}`, op: 'add_to', field: f.name, doc: `Adds a key to the ${f.name} map; the key must be new`,
      params: [self, param('key', f.ty.key, 'The key to add'), param('value', f.ty.value, 'Its value')], roles: write,
    }, {
      name: `remove_from_${f.name}`, op: 'remove_from', field: f.name, doc: `Removes a key from the ${f.name} map if present`,
      params: [self, param('key', f.ty.key, 'The key to remove')], roles: write,
    });
  } else if (f.ty.kind === 'set') {
    out.push({
      name: `add_${f.name}`, op: 'add_to', field: f.name, doc: `Adds a value to the ${f.name} set`,
      params: [self, param('value', f.ty.of, 'The value to add')], roles: write,
    }, {
      name: `remove_${f.name}`, op: 'remove_from', field: f.name, doc: `Removes a value from the ${f.name} set`,
      params: [self, param('value', f.ty.of, 'The value to remove')], roles: write,
    });
  }
  return out;
}

const cache = new WeakMap<ClassDecl, ImplicitMessage[]>();

/** The implicit messages of a class, in a stable order (lookups first, then per field). */
export function implicitMessages(c: ClassDecl): ImplicitMessage[] {
  const hit = cache.get(c);
  if (hit) return hit;
  const specs: Spec[] = [];
  if (c.accessors) {
    const read = rolesFrom(c.readRole);
    const self = param('self', t.ref(c.name), `The ${c.name} to read`);
    const records = t.map(t.ref(c.name), t.record(c.name));
    specs.push(
      { name: 'get_record', op: 'get_record', doc: `Returns every field of a ${c.name}`, params: [self], result: t.record(c.name), resultDoc: 'The full record', roles: read },
      { name: 'get_by_uuid', op: 'get_by_uuid', doc: `Finds the ${c.name} with a given uuid`, params: [param('uuid', t.string, 'The uuid to look up')], result: t.ref(c.name), resultDoc: 'Its reference', roles: read },
    );
    if (c.byNameLabel && c.fields.some((f) => f.name === 'name_label')) {
      specs.push({ name: 'get_by_name_label', op: 'get_by_name_label', doc: `Finds every ${c.name} with a given name`, params: [param('label', t.string, 'The name to look for')], result: t.set(t.ref(c.name)), resultDoc: 'References of the matches', roles: read });
    }
    if (c.lists) {
      specs.push(
        { name: 'get_all', op: 'get_all', doc: `Lists every ${c.name}`, params: [], result: t.set(t.ref(c.name)), resultDoc: 'All references', roles: read },
        { name: 'get_all_records', op: 'get_all_records', doc: `Returns every ${c.name} with its record`, params: [], result: records, resultDoc: 'Records by reference', roles: read },
        // Hidden in xapi too: it exists on the wire but not in the published API.
        { name: 'get_all_records_where', op: 'get_all_records_where', doc: `Returns the ${c.name} records matching a filter expression`, params: [param('expr', t.string, 'The filter, as in field "name_label" = "x"')], result: records, resultDoc: 'Matching records by reference', roles: read, internal: true },
      );
    }
    for (const f of c.fields) if (!f.internal) specs.push(...fieldMessages(c, f));
  }
  const create = rolesFrom(c.createRole);
  if (c.create) {
    specs.push({ name: 'create', op: 'create', doc: `Makes a new ${c.name} from a record`, params: [param('args', t.record(c.name), 'Values of the new object\'s fields')], result: t.ref(c.name), resultDoc: 'The new object', roles: create, async: true });
  }
  if (c.destroy) {
    specs.push({ name: 'destroy', op: 'destroy', doc: `Removes a ${c.name}`, params: [param('self', t.ref(c.name), 'The object to remove')], roles: create, async: true });
  }
  // An explicit declaration wins over a derived one of the same name (task.destroy, say).
  const explicit = new Set(c.messages.map((m) => m.name));
  const out = specs.filter((s) => !explicit.has(s.name)).map(build);
  cache.set(c, out);
  return out;
}

/** Everything callable on a class: its declared messages, then the derived ones. */
export function allMessages(c: ClassDecl): MessageDecl[] {
  return [...c.messages, ...implicitMessages(c)];
}

/** A message of a class by name, declared or derived. */
export function findMessage(className: string, messageName: string): MessageDecl | undefined {
  const c = classByName(className);
  if (!c) return undefined;
  return c.messages.find((m) => m.name === messageName) ?? implicitMessages(c).find((m) => m.name === messageName);
}
