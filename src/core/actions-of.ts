/**
 * @module
 * The type of a class's handlers, derived from its declaration in the datamodel: one
 * optional handler per explicit message (plus the generic `create` and `destroy` where the
 * class has them, which a handler may take over), each taking the message's parameters
 * by name with the types the wire decoder gives them (`Ref<'VM'>` for a VM ref, a union
 * of strings for an enum) and returning the declared result. A class's actions module ends
 * `satisfies ActionsOf<'VM'>`, so a misnamed handler or a parameter read under a name or
 * type the message does not declare fails to compile. A message without a handler is
 * the completeness test's business (test/architecture/completeness.test.ts).
 */
import type { ClassDecl, MessageDecl, ParamDecl, Ty } from '../datamodel/dsl.js';
import type { ClassName, DeclaredClass } from '../datamodel/index.js';
import type { ActionContext } from './action-context.js';
import type { RecordOf } from './record-of.js';
import type { Ref } from './ref.js';
import type { Typed } from './typed.js';
import type { ValueOf } from './value-of.js';

export type { ValueOf } from './value-of.js';

/** A message's arguments, by parameter name (the session excluded). */
export type ArgsOf<M extends MessageDecl> = { [P in M['params'][number] as P['name']]: ValueOf<P['ty']> };

/** What a handler of `M` returns; void messages answer anything (the wire sends ""). */
export type ResultOf<M extends MessageDecl> = M['result'] extends { kind: 'void' | 'any' } ? unknown : ValueOf<M['result']>;

/** A handler of message `M`; a `Typed` result carries its own XenAPI type to the encoder. */
export type HandlerOf<M extends MessageDecl> =
  (ctx: ActionContext, args: ArgsOf<M>) => ResultOf<M> | Typed | Promise<ResultOf<M> | Typed>;

type ClassNamed<C extends ClassName> = Extract<DeclaredClass, { name: C }>;

/**
 * The generic create/destroy a class has, which its actions may take over. The wire
 * decoder gives `create` the declared fields the client sent, each of its declared type.
 */
type Generic<C extends ClassName, D extends ClassDecl> =
  (D['create'] extends true ? { readonly create?: (ctx: ActionContext, args: { args: Partial<RecordOf<C>> }) => Ref<C> | Promise<Ref<C>> } : unknown)
  & (D['destroy'] extends true ? { readonly destroy?: (ctx: ActionContext, args: { self: Ref<C> }) => unknown } : unknown);

/** The handlers class `C` may have, typed from its declaration. */
export type ActionsOf<C extends ClassName> =
  { readonly [M in ClassNamed<C>['messages'][number] as M['name']]?: HandlerOf<M> }
  & Generic<C, ClassNamed<C>>;

/** A parameter list declared somewhere other than a class (a shared message shape). */
export type ArgsOfParams<P extends readonly ParamDecl[]> = { [Q in P[number] as Q['name']]: ValueOf<Q['ty']> };

/** The names of class `C`'s explicit messages (the generic accessors excluded). */
export type MessageName<C extends ClassName> = ClassNamed<C>['messages'][number]['name'];

/**
 * The messages an actions object of type `A` surely has a handler for: its keys that are
 * not optional. A part typed only as `ActionsOf<C>` (every handler optional) claims none.
 */
export type HandledBy<A> = A extends unknown ? { [K in keyof A]-?: undefined extends A[K] ? never : K }[keyof A] : never;

/**
 * Class `C`'s explicit messages that actions of type `A` leave without a handler: the
 * completeness test checks that this, the dispatcher's list and the allow-list agree.
 */
export type MissingHandlers<C extends ClassName, A> = Exclude<MessageName<C>, HandledBy<A>>;

/** What `joinActions` gives: the class's handlers, with each part's handlers known to be there. */
export type JoinedActions<C extends ClassName, P> =
  ActionsOf<C> & { readonly [K in HandledBy<P> & keyof ActionsOf<C>]-?: NonNullable<ActionsOf<C>[K]> };

/**
 * One class's handlers gathered from the modules that implement them. A message defined
 * in two parts is a mistake that a plain object spread would hide (the last one would
 * silently win), so it fails at start-up instead.
 */
export function joinActions<C extends ClassName, const P extends readonly ActionsOf<C>[]>(cls: C, ...parts: P): JoinedActions<C, P[number]> {
  const out: Record<string, unknown> = {};
  for (const part of parts) {
    for (const [name, action] of Object.entries(part)) {
      if (name in out) throw new Error(`${cls}.${name} is implemented twice`);
      out[name] = action;
    }
  }
  return out as JoinedActions<C, P[number]>;
}

/** The arguments of class `C`'s message `N`, for a handler written as a named function. */
export type MessageArgs<C extends ClassName, N extends ClassNamed<C>['messages'][number]['name']> =
  ArgsOf<Extract<ClassNamed<C>['messages'][number], { name: N }>>;
