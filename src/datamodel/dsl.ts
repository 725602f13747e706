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

/**
 * Type builders. `t.set(t.ref('VBD'))` reads like the XenAPI spelling. Each builder keeps
 * its literal shape in the type (`{ kind: 'ref'; cls: 'VBD' }`), so that the handler
 * types (`ActionsOf<'VBD'>` in `core/actions-of.ts`) can be derived from the declarations.
 */
export const t = {
  string: { kind: 'string' } as const,
  int: { kind: 'int' } as const,
  float: { kind: 'float' } as const,
  bool: { kind: 'bool' } as const,
  datetime: { kind: 'datetime' } as const,
  any: { kind: 'any' } as const,
  void: { kind: 'void' } as const,
  ref: <C extends string>(cls: C) => ({ kind: 'ref', cls }) as const,
  set: <T extends Ty>(of: T) => ({ kind: 'set', of }) as const,
  map: <K extends Ty, V extends Ty>(key: K, value: V) => ({ kind: 'map', key, value }) as const,
  record: <C extends string>(cls: C) => ({ kind: 'record', cls }) as const,
  enum: <E extends EnumDecl>(e: E) => ({ kind: 'enum', name: e.name, values: e.values as E['values'] }) as const,
  /** A value of call-dependent shape with the name xenapi.json gives it. */
  opaque: (label: string) => ({ kind: 'any', label }) as const,
  /** The ubiquitous `(string -> string) map`. */
  smap: { kind: 'map', key: { kind: 'string' }, value: { kind: 'string' } } as const,
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
  /**
   * A record passed to `create` must give this field: XenAPI declares no default for it,
   * and xapi refuses such a record with FIELD_TYPE_ERROR naming the field.
   */
  readonly required?: true;
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
  /** See {@link FieldDecl.required}. */
  required?: boolean;
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

/**
 * A field whose name and type stay literal in its type (see `t`), from which
 * `RecordOf<'VM'>` (`core/record-of.ts`) types the rows the database gives back.
 */
export type Field<N extends string = string, T extends Ty = Ty> = FieldDecl & { readonly name: N; readonly ty: T };

function field(qualifier: Qualifier) {
  return <N extends string, T extends Ty>(name: N, ty: T, doc: string, opts: FieldOpts = {}): Field<N, T> => ({
    name, ty, qualifier, doc,
    default: opts.default ?? defaultFor(ty),
    ...(opts.inverse ? { inverse: opts.inverse } : {}),
    ...(opts.writeRole ? { writeRole: opts.writeRole } : {}),
    ...(opts.writeRoles ? { writeRoles: opts.writeRoles } : {}),
    ...(opts.internal ? { internal: true } : {}),
    ...(opts.required ? { required: true } : {}),
  });
}

/** A field clients may set. */
export const rw = field('RW');
/** A field given when the object is made, never changed through the API. */
export const ctor = field('RO/constructor');
/** A field only the server writes. */
export const runtime = field('RO/runtime');

/** The reverse side of a relation: `VM.VBDs` is computed from `VBD.VM`. */
export function inverse<N extends string, C extends string>(name: N, cls: C, backField: string, doc: string) {
  return runtime(name, t.set(t.ref(cls)), doc, { inverse: { cls, field: backField } });
}

/** A parameter whose name and type stay literal in its type (see `t`). */
export type Param<N extends string = string, T extends Ty = Ty> = ParamDecl & { readonly name: N; readonly ty: T };

export function param<N extends string, T extends Ty>(name: N, ty: T, doc: string, dflt?: unknown): Param<N, T> {
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

/** A message whose name, parameters and result stay literal in its type (see `t`). */
export type Message<N extends string = string, P extends readonly ParamDecl[] = readonly ParamDecl[], R extends Ty = Ty> =
  MessageDecl & { readonly name: N; readonly params: P; readonly result: R };

export function message<N extends string, const P extends readonly ParamDecl[] = [], R extends Ty = typeof t.void>(
  name: N, o: MessageOpts & { params?: P; result?: R },
): Message<N, NoInfer<P>, NoInfer<R>> {
  return {
    name, doc: o.doc,
    params: o.params ?? ([] as readonly ParamDecl[] as P),
    result: o.result ?? (t.void as Ty as R),
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
export function setter<C extends string, N extends string, T extends Ty>(
  cls: C, name: N, ty: T, valueDoc: string, o: Omit<MessageOpts, 'params' | 'result'>,
) {
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

/**
 * A class whose name, explicit messages and generic create/destroy stay literal in its
 * type, from which `ActionsOf<'VM'>` derives the handlers the class must have.
 */
export type Class<N extends string = string, M extends readonly MessageDecl[] = readonly MessageDecl[],
  Cr extends boolean = boolean, De extends boolean = boolean, F extends readonly FieldDecl[] = readonly FieldDecl[]> =
  ClassDecl & { readonly name: N; readonly messages: M; readonly create: Cr; readonly destroy: De; readonly fields: F };

/** The `uuid` field `cls` puts first when a declaration leaves it out. */
type UuidField = Field<'uuid', typeof t.string>;

/** Every class has `uuid` first, as in XenAPI; declarations list the rest. */
export function cls<N extends string, const M extends readonly MessageDecl[] = [], Cr extends boolean = false, De extends boolean = false,
  F extends readonly FieldDecl[] = []>(
  name: N, o: ClassOpts & { messages?: M; create?: Cr; destroy?: De; fields: F },
): Class<N, M, Cr, De, ReadonlyArray<UuidField | F[number]>> {
  const hasUuid = o.uuid === false || o.fields.some((f) => f.name === 'uuid');
  // A declaration that gives its own uuid (or has none) keeps its list; the type says
  // `uuid` either way, which only matters to the few classes that are not rows.
  const fields = (hasUuid ? o.fields : [runtime('uuid', t.string, 'Unique identifier of the object'), ...o.fields]) as ReadonlyArray<UuidField | F[number]>;
  const names = new Set<string>();
  for (const f of fields) {
    if (names.has(f.name)) throw new Error(`datamodel: ${name}.${f.name} declared twice`);
    names.add(f.name);
  }
  const hasName = fields.some((f) => f.name === 'name_label');
  return {
    name, doc: o.doc, fields,
    messages: o.messages ?? ([] as readonly MessageDecl[] as M),
    persist: o.persist ?? true,
    create: o.create ?? (false as Cr),
    destroy: o.destroy ?? (false as De),
    readRole: o.readRole ?? 'read-only',
    writeRole: o.writeRole ?? 'pool-operator',
    createRole: o.createRole ?? o.writeRole ?? 'pool-operator',
    ...(o.nameField ?? (hasName ? 'name_label' : undefined) ? { nameField: o.nameField ?? 'name_label' } : {}),
    byNameLabel: o.byNameLabel ?? hasName,
    lists: o.lists ?? true,
    accessors: o.accessors ?? true,
  };
}
