/**
 * @module
 * The whole datamodel: every class Islet serves, in XenAPI's order.
 */
import type { ClassDecl } from './dsl.js';
import { session } from './session.js';
import { subject } from './subject.js';
import { role } from './role.js';
import { task } from './task.js';
import { event } from './event.js';
import { pool } from './pool.js';
import { host } from './host.js';
import { hostMetrics } from './host-metrics.js';
import { user } from './user.js';
import { message } from './message.js';

export const classes: readonly ClassDecl[] = [
  session,
  subject,
  role,
  task,
  event,
  pool,
  host,
  hostMetrics,
  user,
  message,
];

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
