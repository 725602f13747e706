/**
 * @module
 * The vocabulary the datamodel is written in: types, qualifiers, fields, messages and
 * classes. Everything else (dispatch, argument checking, RBAC, the database schema, event
 * snapshots, CLI records, docs) is derived from declarations made with these builders, so
 * a field or message is declared exactly once.
 */
import { type Role, rolesFrom } from './roles.js';

/** A XenAPI type. `render` gives the spelling used by xenapi.json ("VM ref set"). */
export type Ty =
  | { readonly kind: 'string' }
  | { readonly kind: 'int' }
  | { readonly kind: 'float' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'datetime' }
  | { readonly kind: 'enum'; readonly name: string; readonly values: readonly string[] }
  | { readonly kind: 'ref'; readonly cls: string }
  | { readonly kind: 'set'; readonly of: Ty }
  | { readonly kind: 'map'; readonly key: Ty; readonly value: Ty }
  | { readonly kind: 'record'; readonly cls: string }
  /**
   * A value whose shape depends on the call (event.from's result, say). `label` is how
   * xenapi.json spells it ("an event batch", "<class> record").
   */
  | { readonly kind: 'any'; readonly label?: string }
  | { readonly kind: 'void' };

export interface EnumDecl {
  readonly name: string;
  readonly values: readonly string[];
}

/** Type builders. `t.set(t.ref('VBD'))` reads like the XenAPI spelling. */
export const t = {
  string: { kind: 'string' } as Ty,
  int: { kind: 'int' } as Ty,
  float: { kind: 'float' } as Ty,
  bool: { kind: 'bool' } as Ty,
  datetime: { kind: 'datetime' } as Ty,
  any: { kind: 'any' } as Ty,
  void: { kind: 'void' } as Ty,
  ref: (cls: string): Ty => ({ kind: 'ref', cls }),
  set: (of: Ty): Ty => ({ kind: 'set', of }),
  map: (key: Ty, value: Ty): Ty => ({ kind: 'map', key, value }),
  record: (cls: string): Ty => ({ kind: 'record', cls }),
  enum: (e: EnumDecl): Ty => ({ kind: 'enum', name: e.name, values: e.values }),
  /** A value of call-dependent shape with the name xenapi.json gives it. */
  opaque: (label: string): Ty => ({ kind: 'any', label }),
  /** The ubiquitous `(string -> string) map`. */
  smap: { kind: 'map', key: { kind: 'string' }, value: { kind: 'string' } } as Ty,
} as const;

/** Declares an enum once so that its values and its XenAPI name travel together. */
export function enumDecl<const V extends readonly string[]>(name: string, values: V): EnumDecl & { values: V } {
  return { name, values };
}

/** The XenAPI spelling of a type, as xenapi.json writes it. */
export function renderTy(ty: Ty): string {
  switch (ty.kind) {
    case 'enum': return `enum ${ty.name}`;
    case 'ref': return `${ty.cls} ref`;
    case 'set': return `${renderTy(ty.of)} set`;
    case 'map': return `(${renderTy(ty.key)} -> ${renderTy(ty.value)}) map`;
    case 'record': return `${ty.cls} record`;
    case 'any': return ty.label ?? 'any';
    default: return ty.kind;
  }
}

/** RW has a setter; RO/constructor is given at creation; RO/runtime only the server writes. */
export type Qualifier = 'RW' | 'RO/constructor' | 'RO/runtime';

export interface FieldDecl {
  readonly name: string;
  readonly ty: Ty;
  readonly qualifier: Qualifier;
  readonly doc: string;
  /** Value a new object gets when the creator does not give one. */
  readonly default: unknown;
  /**
   * For a `ref set` that is the far side of a one-to-many relation: the field of the
   * other class that points back here. Such a field is computed, never stored.
   */
  readonly inverse?: { readonly cls: string; readonly field: string };
  /** Least role allowed to call the setter (and add_to/remove_from); the class default otherwise. */
  readonly writeRole?: Role;
  /** An explicit setter role list, for the few that are not a prefix of the role order. */
  readonly writeRoles?: readonly Role[];
  /** Not shown to clients (password hashes). */
  readonly internal?: boolean;
}

export interface ParamDecl {
  readonly name: string;
  readonly ty: Ty;
  readonly doc: string;
  /** Present when trailing arguments may be omitted on the wire. */
  readonly default?: unknown;
}

export interface MessageDecl {
  readonly name: string;
  readonly doc: string;
  /** Parameters in XenAPI order, the session excluded. */
  readonly params: readonly ParamDecl[];
  readonly result: Ty;
  readonly resultDoc: string;
  readonly errors: readonly string[];
  /** Roles allowed to call, strongest first. */
  readonly roles: readonly Role[];
  /** Has an `Async.` form that returns a task. */
  readonly async: boolean;
  /** Called without a session (login). */
  readonly sessionless: boolean;
  /** Hidden from system.listMethods and docs; used between hosts. */
  readonly internal: boolean;
}

export interface ClassDecl {
  readonly name: string;
  readonly doc: string;
  readonly fields: readonly FieldDecl[];
  readonly messages: readonly MessageDecl[];
  /** Kept in the pool database; false for sessions and tasks, which die with the process. */
  readonly persist: boolean;
  /** Whether the generic `create(record)` and `destroy(self)` exist. */
  readonly create: boolean;
  readonly destroy: boolean;
  /** Least role for getters and for setters by default. */
  readonly readRole: Role;
  readonly writeRole: Role;
  /** Least role for the generic create/destroy. */
  readonly createRole: Role;
  /** The field xe and get_by_name_label use; absent for classes without names. */
  readonly nameField?: string;
  /** Whether get_by_name_label exists (pool has a name but no lookup by it). */
  readonly byNameLabel: boolean;
  /** Whether get_all/get_all_records exist (sessions and users cannot be listed). */
  readonly lists: boolean;
  /**
   * Whether any implicit message (get_record, get_<field>, set_<field>…) exists. Classes
   * that are not rows in the database (event, message, vdi_nbd_server_info) have none.
   */
  readonly accessors: boolean;
}

interface FieldOpts {
  default?: unknown;
  inverse?: { cls: string; field: string };
  writeRole?: Role;
  writeRoles?: readonly Role[];
  internal?: boolean;
}

function defaultFor(ty: Ty): unknown {
  switch (ty.kind) {
    case 'string': return '';
    case 'int': case 'float': return 0;
    case 'bool': return false;
    case 'datetime': return '19700101T00:00:00Z';
    case 'enum': return ty.values[0];
    case 'ref': return 'OpaqueRef:NULL';
    case 'set': return [];
    case 'map': return {};
    default: return '';
  }
}

function field(qualifier: Qualifier) {
  return (name: string, ty: Ty, doc: string, opts: FieldOpts = {}): FieldDecl => ({
    name, ty, qualifier, doc,
    default: opts.default ?? defaultFor(ty),
    ...(opts.inverse ? { inverse: opts.inverse } : {}),
    ...(opts.writeRole ? { writeRole: opts.writeRole } : {}),
    ...(opts.writeRoles ? { writeRoles: opts.writeRoles } : {}),
    ...(opts.internal ? { internal: true } : {}),
  });
}

/** A field clients may set. */
export const rw = field('RW');
/** A field given when the object is made, never changed through the API. */
export const ctor = field('RO/constructor');
/** A field only the server writes. */
export const runtime = field('RO/runtime');

/** The reverse side of a relation: `VM.VBDs` is computed from `VBD.VM`. */
export function inverse(name: string, cls: string, backField: string, doc: string): FieldDecl {
  return runtime(name, t.set(t.ref(cls)), doc, { inverse: { cls, field: backField } });
}

export function param(name: string, ty: Ty, doc: string, dflt?: unknown): ParamDecl {
  return dflt === undefined ? { name, ty, doc } : { name, ty, doc, default: dflt };
}

interface MessageOpts {
  doc: string;
  params?: readonly ParamDecl[];
  result?: Ty;
  resultDoc?: string;
  errors?: readonly string[];
  /** Least role allowed; the roles list is every role at or above it. */
  role?: Role;
  /** An explicit list, for the few messages whose roles are not a prefix of the order. */
  roles?: readonly Role[];
  async?: boolean;
  sessionless?: boolean;
  internal?: boolean;
}

export function message(name: string, o: MessageOpts): MessageDecl {
  return {
    name, doc: o.doc,
    params: o.params ?? [],
    result: o.result ?? t.void,
    resultDoc: o.resultDoc ?? '',
    errors: o.errors ?? [],
    roles: o.roles ?? rolesFrom(o.role ?? 'pool-admin'),
    async: o.async ?? false,
    sessionless: o.sessionless ?? false,
    internal: o.internal ?? false,
  };
}

/**
 * The commonest message shape, an explicit setter taking the object and its new value:
 * `setter('VDI', 'set_sharable', t.bool, 'Whether it is sharable', { doc, role })`.
 */
export function setter(cls: string, name: string, ty: Ty, valueDoc: string, o: Omit<MessageOpts, 'params'>): MessageDecl {
  return message(name, { ...o, params: [param('self', t.ref(cls), `The ${cls} to change`), param('value', ty, valueDoc)] });
}

interface ClassOpts {
  doc: string;
  fields: readonly FieldDecl[];
  messages?: readonly MessageDecl[];
  persist?: boolean;
  create?: boolean;
  destroy?: boolean;
  readRole?: Role;
  writeRole?: Role;
  createRole?: Role;
  nameField?: string;
  /** False for the few classes without a uuid field (event, vdi_nbd_server_info). */
  uuid?: boolean;
  byNameLabel?: boolean;
  lists?: boolean;
  accessors?: boolean;
}

/** Every class has `uuid` first, as in XenAPI; declarations list the rest. */
export function cls(name: string, o: ClassOpts): ClassDecl {
  const hasUuid = o.uuid === false || o.fields.some((f) => f.name === 'uuid');
  const fields = hasUuid ? o.fields : [runtime('uuid', t.string, 'Unique identifier of the object'), ...o.fields];
  const names = new Set<string>();
  for (const f of fields) {
    if (names.has(f.name)) throw new Error(`datamodel: ${name}.${f.name} declared twice`);
    names.add(f.name);
  }
  const hasName = fields.some((f) => f.name === 'name_label');
  return {
    name, doc: o.doc, fields,
    messages: o.messages ?? [],
    persist: o.persist ?? true,
    create: o.create ?? false,
    destroy: o.destroy ?? false,
    readRole: o.readRole ?? 'read-only',
    writeRole: o.writeRole ?? 'pool-operator',
    createRole: o.createRole ?? o.writeRole ?? 'pool-operator',
    ...(o.nameField ?? (hasName ? 'name_label' : undefined) ? { nameField: o.nameField ?? 'name_label' } : {}),
    byNameLabel: o.byNameLabel ?? hasName,
    lists: o.lists ?? true,
    accessors: o.accessors ?? true,
  };
}
