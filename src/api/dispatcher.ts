/**
 * @module
 * From a method name and positional wire arguments to an action's result, entirely
 * driven by the datamodel: the method table, arity (with omissible trailing defaults),
 * argument types, RBAC, `Async.` task wrapping and result encoding all come from the
 * declarations. Protocol codecs sit on either side of `call`.
 */
import { ApiError } from '../core/api-error.js';
import { storageAsApiError } from '../core/wire-errors.js';
import { Typed } from '../core/typed.js';
import type { Ref } from '../core/ref.js';
import type { ClassDecl, FieldDecl, MessageDecl, Ty } from '../datamodel/dsl.js';
import { allMessages, type ImplicitMessage } from '../datamodel/implicit.js';
import type { Action, ActionContext, ClassActions, Services } from '../core/action-context.js';
import type { SessionInfo } from '../core/ports/sessions.js';
import { implicitAction } from './implicit-actions.js';
import type { SessionStore } from './session-store.js';
import type { TaskRunner } from './task-runner.js';
import { decodeArg, encodeTyped, toXmlValue } from './wire/typed-value.js';
import { setOwn, type WireValue } from './wire/wire-value.js';
import { encodeTypedJson } from './wire/json-encode.js';


interface MethodEntry {
  readonly cls: ClassDecl;
  readonly msg: MessageDecl;
  readonly impl: Action;
  readonly wireName: string;
  readonly minArgs: number;
  readonly maxArgs: number;
}

export interface DispatcherOptions {
  readonly classes: readonly ClassDecl[];
  readonly actions: Readonly<Record<string, ClassActions>>;
  readonly sessions: SessionStore;
  readonly tasks: TaskRunner;
  readonly services: Services;
  /** Runs before an action; lets the pool layer forward or refuse (HOST_IS_SLAVE). */
  readonly gate?: (entry: { cls: ClassDecl; msg: MessageDecl }, session: SessionInfo | undefined) => void;
  /**
   * Classes served but left out of `system.listMethods`: those newer than the API version
   * this toolstack claims. Clients that learn the classes from the listing (Xen Orchestra)
   * then see what a host of that version has, and find an update by uuid as its pool_patch.
   */
  readonly unlisted?: readonly string[];
}

export class Dispatcher {
  private readonly table = new Map<string, MethodEntry>();
  private readonly fieldsOf: (cls: string) => readonly FieldDecl[] | undefined;

  constructor(private readonly o: DispatcherOptions) {
    const byName = new Map(o.classes.map((c) => [c.name, c]));
    this.fieldsOf = (name) => byName.get(name)?.fields;
    for (const c of o.classes) {
      const impls = o.actions[c.name] ?? {};
      for (const m of allMessages(c)) {
        const custom = impls[m.name];
        const implicit = (m as Partial<ImplicitMessage>).implicit;
        const impl = custom ?? (implicit ? implicitAction(c, m as ImplicitMessage) : undefined);
        if (!impl) continue; // declared but not implemented yet: reported by the completeness test
        let required = m.params.length;
        while (required > 0 && m.params[required - 1]!.default !== undefined) required--;
        const base = m.sessionless ? 0 : 1;
        this.table.set(`${c.name}.${m.name}`, {
          cls: c, msg: m, impl, wireName: `${c.name}.${m.name}`,
          minArgs: base + required, maxArgs: base + m.params.length,
        });
      }
    }
  }

  /** Messages declared in the datamodel that have no implementation. */
  static unimplemented(classes: readonly ClassDecl[], actions: Readonly<Record<string, ClassActions>>): string[] {
    const out: string[] = [];
    for (const c of classes) {
      for (const m of allMessages(c)) {
        if (!(m as Partial<ImplicitMessage>).implicit && !actions[c.name]?.[m.name]) out.push(`${c.name}.${m.name}`);
      }
    }
    return out;
  }

  listMethods(): string[] {
    const out: string[] = ['system.listMethods'];
    for (const e of this.table.values()) {
      if (e.msg.internal || this.o.unlisted?.includes(e.cls.name)) continue;
      out.push(e.wireName);
      if (e.msg.async) out.push(`Async.${e.wireName}`);
    }
    return out;
  }

  /** Encodes a value of type `ty` for the wire. */
  encode(value: unknown, ty: Ty): WireValue {
    if (value instanceof Typed) return this.encode(value.value, value.ty);
    if (ty.kind !== 'any') return encodeTyped(value, ty, this.fieldsOf);
    // Untyped results may hold typed parts (event snapshots): walk down to them.
    if (Array.isArray(value)) return { t: 'array', v: value.map((x) => this.encode(x, ty)) };
    if (value !== null && typeof value === 'object') {
      const v: Record<string, WireValue> = {};
      for (const [k, x] of Object.entries(value)) setOwn(v, k, this.encode(x, ty));
      return { t: 'struct', v };
    }
    return encodeTyped(value, ty, this.fieldsOf);
  }

  /** Encodes a value of type `ty` straight to its JSON-RPC form (`toJson(encode(v, ty))`). */
  encodeJson(value: unknown, ty: Ty): unknown {
    if (value instanceof Typed) return this.encodeJson(value.value, value.ty);
    if (ty.kind !== 'any') return encodeTypedJson(value, ty, this.fieldsOf);
    if (Array.isArray(value)) return value.map((x) => this.encodeJson(x, ty));
    if (value !== null && typeof value === 'object') {
      const v: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(value)) setOwn(v, k, this.encodeJson(x, ty));
      return v;
    }
    return encodeTypedJson(value, ty, this.fieldsOf);
  }

  /** Runs a call and encodes its result as a wire value tree (for either codec). */
  async call(method: string, params: readonly unknown[], peer: string): Promise<WireValue> {
    const r = await this.invoke(method, params, peer);
    return this.encode(r.value, r.ty);
  }

  /** Runs a call and encodes its result straight to JSON-RPC's form. */
  async callJson(method: string, params: readonly unknown[], peer: string): Promise<unknown> {
    let r: { value: unknown; ty: Ty };
    try {
      r = await this.invoke(method, params, peer);
    } catch (e) {
      // Also the path of calls run on this host for the pool (callOnHost): what they fail
      // with is a XenAPI error as it would be on the wire, storage's included.
      throw storageAsApiError(e);
    }
    return this.encodeJson(r.value, r.ty);
  }

  private async invoke(method: string, params: readonly unknown[], peer: string): Promise<{ value: unknown; ty: Ty }> {
    if (method === 'system.listMethods') return { value: this.listMethods(), ty: { kind: 'set', of: { kind: 'string' } } };
    const isAsync = method.startsWith('Async.');
    const entry = this.table.get(isAsync ? method.slice(6) : method);
    if (!entry || (isAsync && !entry.msg.async)) throw new ApiError('MESSAGE_METHOD_UNKNOWN', [method]);
    const { msg } = entry;
    if (params.length < entry.minArgs || params.length > entry.maxArgs) {
      throw new ApiError('MESSAGE_PARAMETER_COUNT_MISMATCH', [method, String(entry.maxArgs), String(params.length)]);
    }
    let session: SessionInfo | undefined;
    let rest = params;
    if (!msg.sessionless) {
      session = this.o.sessions.validate(params[0]);
      // A stopping toolstack takes its sessions with it: say so now, so that clients log in
      // again (to the next toolstack) instead of starting work that would be cut off.
      if (this.o.services.stopping?.aborted && !session.internal) throw new ApiError('SESSION_INVALID', [String(params[0])]);
      rest = params.slice(1);
      // A message no role holds is xapi's "local root only": the local superuser alone may call it.
      const localRootOnly = msg.roles.length === 0 && session.isLocalSuperuser === true;
      if (!msg.roles.includes(session.role) && !localRootOnly) {
        throw new ApiError('RBAC_PERMISSION_DENIED', [entry.wireName, 'No permission in the session\'s role to call this']);
      }
    }
    const args: Record<string, unknown> = {};
    msg.params.forEach((p, i) => {
      args[p.name] = i < rest.length ? decodeArg(rest[i], p.ty, p.name, this.fieldsOf) : p.default;
    });
    this.o.gate?.(entry, session);
    const ctx = (task?: ActionContext['task']): ActionContext => ({
      services: this.o.services, db: this.o.services.db, session, task, peer,
    });
    // Each call's duration and outcome, for xe diagnostic-timing-stats.
    const stats = this.o.services.callStats;
    const timed = async (run: () => unknown): Promise<unknown> => {
      const t0 = performance.now();
      let ok = false;
      try {
        const v = await run();
        ok = true;
        return v;
      } finally {
        stats?.record(entry.wireName, performance.now() - t0, ok);
      }
    };
    if (!isAsync) {
      // On a member, the answer waits for the master to hold what the call wrote.
      const written = this.o.services.pool?.writesBarrier?.();
      try {
        return { value: await timed(() => entry.impl(ctx(undefined), args)), ty: msg.result };
      } finally {
        await written?.();
      }
    }

    const taskRef = this.o.tasks.create(`Async.${entry.wireName}`, '', session?.ref);
    void this.o.tasks.run(
      taskRef,
      async (h) => timed(() => entry.impl(ctx(h), args)),
      (v) => (msg.result.kind === 'void' ? '' : toXmlValue(this.encode(v, msg.result))),
    );
    return { value: taskRef, ty: { kind: 'ref', cls: 'task' } };
  }
}
