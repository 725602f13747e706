/**
 * @module
 * A value carrying its XenAPI type, for results whose shape varies per call (event
 * snapshots of different classes inside one `event.from` answer). The wire encoder uses
 * the attached type where the declared result type is `any`.
 */
import type { Ty } from '../datamodel/dsl.js';

export class Typed {
  constructor(readonly value: unknown, readonly ty: Ty) {}
}
