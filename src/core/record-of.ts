/**
 * @module
 * The type of a class's rows, derived from its field declarations as handlers' arguments
 * are from its messages (`core/actions-of.ts`): `RecordOf<'VM'>` has every declared field
 * of VM, each with the type its XenAPI type gives (`resident_on: Ref<'host'>`, `VBDs:
 * Ref<'VBD'>[]`, `power_state` a union of the enum's values, `other_config` a string map).
 * The pool database port (`core/ports/pool-db.ts`) answers these records for a declared
 * class's literal name. The database checks every write against the same declarations,
 * which is what makes the typing of its reads true.
 */
import type { ClassName, DeclaredClass } from '../datamodel/index.js';
import type { ValueOf } from './value-of.js';

type FieldsOf<C extends ClassName> = Extract<DeclaredClass, { name: C }>['fields'][number];

/** A full row of class `C`: every declared field, typed from its declaration. */
export type RecordOf<C extends ClassName> = { [F in FieldsOf<C> as F['name']]: ValueOf<F['ty']> };

