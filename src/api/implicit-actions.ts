/**
 * @module
 * The generic messages every class has (get_record, get_by_uuid, get_<field>,
 * set_<field>, add_to_/remove_from_, create, destroy…), implemented once over the pool
 * database from the declarations. A class overrides one by implementing a message of the
 * same name in its actions module (set_name_label with a side effect, say).
 */
import { ApiError } from '../core/api-error.js';
import type { Row } from '../core/ports/pool-db.js';
import { newRef, newUuid, type Ref } from '../core/ref.js';
import type { ClassDecl, FieldDecl } from '../datamodel/dsl.js';
import type { ImplicitMessage } from '../datamodel/implicit.js';
import type { Action, ActionContext } from '../core/action-context.js';
import { evalFilter, parseFilter } from '../core/filter-expr.js';
import { checkNewVm, checkTextField, checkTextFields } from '../core/record-rules.js';

/** A record as clients see it: internal fields removed. */
export function publicRecord(c: ClassDecl, row: Row): Row {
  if (!c.fields.some((f) => f.internal)) return row;
  const out: Row = {};
  for (const f of c.fields) if (!f.internal) out[f.name] = row[f.name];
  return out;
}

export function mustGet(ctx: ActionContext, c: ClassDecl, ref: unknown): Row {
  const row = typeof ref === 'string' ? ctx.db.get(c.name, ref) : undefined;
  if (!row) throw new ApiError('HANDLE_INVALID', [c.name, String(ref)]);
  return row;
}

function fieldOf(c: ClassDecl, name: string | undefined): FieldDecl {
  const f = c.fields.find((x) => x.name === name);
  if (!f) throw new Error(`datamodel: ${c.name} has no field ${name}`);
  return f;
}

export function implicitAction(c: ClassDecl, m: ImplicitMessage): Action {
  const { op } = m.implicit;
  switch (op) {
    case 'get_record':
      return (ctx, a) => publicRecord(c, mustGet(ctx, c, a.self));
    case 'get_by_uuid':
      return (ctx, a) => {
        const ref = ctx.db.refByUuid(c.name, String(a.uuid));
        if (!ref) throw new ApiError('UUID_INVALID', [c.name, String(a.uuid)]);
        return ref;
      };
    case 'get_by_name_label':
      return (ctx, a) => ctx.db.all(c.name).filter(([, r]) => r.name_label === a.label).map(([ref]) => ref);
    case 'get_all':
      return (ctx) => ctx.db.all(c.name).map(([ref]) => ref);
    case 'get_all_records':
      return (ctx) => Object.fromEntries(ctx.db.all(c.name).map(([ref, r]) => [ref, publicRecord(c, r)]));
    case 'get_all_records_where':
      return (ctx, a) => {
        const expr = parseFilter(String(a.expr));
        const out: Record<string, Row> = {};
        for (const [ref, r] of ctx.db.where(c.name, (field) => evalFilter(expr, field))) out[ref] = publicRecord(c, r);
        return out;
      };
    case 'get': {
      const f = fieldOf(c, m.implicit.field);
      return (ctx, a) => mustGet(ctx, c, a.self)[f.name];
    }
    case 'set': {
      const f = fieldOf(c, m.implicit.field);
      return (ctx, a) => {
        mustGet(ctx, c, a.self);
        checkTextField(f.name, a.value);
        ctx.db.update(c.name, a.self as Ref, { [f.name]: a.value });
        return '';
      };
    }
    case 'add_to': {
      const f = fieldOf(c, m.implicit.field);
      return (ctx, a) => {
        const row = mustGet(ctx, c, a.self);
        if (f.ty.kind === 'map') {
          const cur = { ...(row[f.name] as Record<string, unknown>) };
          const key = String(a.key);
          if (key in cur) throw new ApiError('MAP_DUPLICATE_KEY', [c.name, f.name, String(row.uuid), key]);
          cur[key] = a.value;
          ctx.db.update(c.name, a.self as Ref, { [f.name]: cur });
        } else {
          const cur = row[f.name] as unknown[];
          if (!cur.includes(a.value)) ctx.db.update(c.name, a.self as Ref, { [f.name]: [...cur, a.value] });
        }
        return '';
      };
    }
    case 'remove_from': {
      const f = fieldOf(c, m.implicit.field);
      return (ctx, a) => {
        const row = mustGet(ctx, c, a.self);
        if (f.ty.kind === 'map') {
          const cur = { ...(row[f.name] as Record<string, unknown>) };
          delete cur[String(a.key)];
          ctx.db.update(c.name, a.self as Ref, { [f.name]: cur });
        } else {
          const cur = row[f.name] as unknown[];
          ctx.db.update(c.name, a.self as Ref, { [f.name]: cur.filter((x) => x !== a.value) });
        }
        return '';
      };
    }
    case 'create':
      return (ctx, a) => {
        const given = (a.args ?? {}) as Row;
        const row: Row = { uuid: newUuid() };
        for (const f of c.fields) {
          if (f.qualifier === 'RO/runtime' || f.inverse || f.internal) continue;
          if (given[f.name] !== undefined) row[f.name] = given[f.name];
        }
        checkTextFields(row);
        const ref = newRef();
        ctx.db.create(c.name, ref, c.name === 'VM' ? checkNewVm(row) : row);
        return ref;
      };
    case 'destroy':
      return (ctx, a) => {
        mustGet(ctx, c, a.self);
        ctx.db.remove(c.name, a.self as Ref);
        return '';
      };
  }
}
