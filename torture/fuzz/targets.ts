/**
 * @module
 * Every fuzz target by name, in the order the suite runs them.
 */
import type { FuzzTarget } from './fuzz-target.js';
import { nbdTarget } from './nbd-target.js';
import { updateTarget } from './update-target.js';
import { vhdTarget } from './vhd-target.js';
import { jsonRpcTarget, xmlRpcTarget } from './wire-targets.js';
import { xeTarget } from './xe-target.js';

export const fuzzTargets: ReadonlyArray<FuzzTarget<any>> = [vhdTarget, xmlRpcTarget, jsonRpcTarget, xeTarget, updateTarget, nbdTarget];

export function targetByName(name: string): FuzzTarget<any> | undefined {
  return fuzzTargets.find((t) => t.name === name);
}
