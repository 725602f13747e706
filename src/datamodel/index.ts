/**
 * @module
 * The whole datamodel: every class Islet serves, in XenAPI's order.
 */
import type { ClassDecl } from './dsl.js';
import { pool } from './pool.js';

export const classes: readonly ClassDecl[] = [pool];

const byName = new Map(classes.map((c) => [c.name, c]));
const byLower = new Map(classes.map((c) => [c.name.toLowerCase(), c]));

/** A class by its exact XenAPI name (`VM`, `host`). */
export function classByName(name: string): ClassDecl | undefined {
  return byName.get(name);
}
/** A class by name in any case, as event subscriptions and the CLI spell them. */
export function classByLowerName(name: string): ClassDecl | undefined {
  return byLower.get(name.toLowerCase());
}
