/**
 * @module
 * The TypeScript type of a value of a XenAPI type, read off the type's declaration: what
 * the wire decoder gives a handler for a parameter (`core/actions-of.ts`) and what the
 * pool database holds in a field (`core/record-of.ts`), so both follow the datamodel.
 */
import type { Ty } from '../datamodel/dsl.js';
import type { Ref } from './ref.js';

/** The value a parameter of XenAPI type `T` has once decoded (see `api/wire/typed-value.ts`). */
export type ValueOf<T extends Ty> =
  Ty extends T ? unknown // a type known only as `Ty` says nothing (and would recurse for ever)
  : T extends { kind: 'string' | 'datetime' } ? string
  : T extends { kind: 'int' | 'float' } ? number
  : T extends { kind: 'bool' } ? boolean
  : T extends { kind: 'ref'; cls: infer C extends string } ? Ref<C>
  : T extends { kind: 'enum'; values: readonly (infer V)[] } ? V
  : T extends { kind: 'set'; of: infer E extends Ty } ? ValueOf<E>[]
  : T extends { kind: 'map'; value: infer V extends Ty } ? Record<string, ValueOf<V>>
  : T extends { kind: 'record' } ? Record<string, unknown>
  : unknown;
