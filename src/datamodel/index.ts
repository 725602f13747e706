/**
 * @module
 * The whole datamodel: every class Islet serves, in XenAPI's order.
 */
import type { ClassDecl } from './dsl.js';
import { session } from './session.js';
import { subject } from './subject.js';
import { auth } from './auth.js';
import { role } from './role.js';
import { task } from './task.js';
import { event } from './event.js';
import { pool } from './pool.js';
import { poolPatch } from './pool-patch.js';
import { poolUpdate } from './pool-update.js';
import { vm } from './vm.js';
import { vmMetrics } from './vm-metrics.js';
import { vmGuestMetrics } from './vm-guest-metrics.js';
import { vmAppliance } from './vm-appliance.js';
import { vmpp } from './vmpp.js';
import { host } from './host.js';
import { hostPatch } from './host-patch.js';
import { hostMetrics } from './host-metrics.js';
import { hostCpu } from './host-cpu.js';
import { network } from './network.js';
import { vif } from './vif.js';
import { pif } from './pif.js';
import { bond } from './bond.js';
import { vlan } from './vlan.js';
import { sm } from './sm.js';
import { sr } from './sr.js';
import { vdi } from './vdi.js';
import { vbd } from './vbd.js';
import { pbd } from './pbd.js';
import { console } from './console.js';
import { user } from './user.js';
import { blob } from './blob.js';
import { messageClass } from './message.js';
import { secret } from './secret.js';
import { vdiNbdServerInfo } from './vdi-nbd-server-info.js';
import { dataSource } from './data-source.js';
import { Certificate } from './certificate.js';
import { isletRollingUpdate } from './islet-rolling-update.js';

/** Every class, each with its literal type (see `DeclaredClass`). */
export const declaredClasses = [
  session,
  auth,
  subject,
  role,
  task,
  event,
  pool,
  poolPatch,
  poolUpdate,
  vm,
  vmMetrics,
  vmGuestMetrics,
  vmpp,
  vmAppliance,
  host,
  hostPatch,
  hostMetrics,
  hostCpu,
  network,
  vif,
  pif,
  bond,
  vlan,
  sm,
  sr,
  vdi,
  vbd,
  pbd,
  console,
  user,
  dataSource,
  blob,
  messageClass,
  secret,
  vdiNbdServerInfo,
  Certificate,
  // Islet's own classes come last; they have no place in XenAPI's order.
  isletRollingUpdate,
] as const;

/** Any one declared class, with its messages' names and parameter types kept literal. */
export type DeclaredClass = (typeof declaredClasses)[number];
/** The name of a declared class (`'VM'`, `'host'`). */
export type ClassName = DeclaredClass['name'];

export const classes: readonly ClassDecl[] = declaredClasses;

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
