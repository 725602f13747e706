/**
 * @module
 * Parameter helpers shared by the storage commands, with xe's parsing rules: sizes with an
 * optional unit (`10GiB`, `512M`, bytes by default), `map:key=value` parameters, booleans,
 * lookups by uuid, and printing a new object's uuid as xe does after a create.
 */
import type { Params } from '../argv.js';
import { getParam, parseCliBool } from '../argv.js';
import { RecordFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';

const UNITS: Record<string, number> = {
  '': 1, b: 1, bytes: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4,
};

/** A byte count with an optional unit suffix (binary multiples, as xe reads them). */
export function bytesOf(field: string, v: string): number {
  const m = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(v);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new RecordFailure(`Failed to parse field '${field}': expecting an integer (possibly with suffix KiB, MiB, GiB, TiB), got '${v}'`);
  }
  return n;
}

/** The `name:key=value` parameters as a map. */
export function mapParam(params: Params, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  const prefix = `${name}:`;
  for (const [k, v] of params) if (k.startsWith(prefix) && k.length > prefix.length) out[k.slice(prefix.length)] = v;
  return out;
}

export function boolParam(params: Params, name: string, dflt = false): boolean {
  const v = getParam(params, name);
  return v === undefined ? dflt : parseCliBool(name, v);
}

export async function refByUuid(ctx: CommandContext, cls: string, uuid: string): Promise<string> {
  return String(await ctx.call(`${cls}.get_by_uuid`, uuid));
}

/** Prints the uuid of a newly made object, the one line xe prints after a create. */
export async function printUuid(ctx: CommandContext, cls: string, ref: unknown): Promise<void> {
  ctx.printer.list([String(await ctx.call(`${cls}.get_uuid`, ref))]);
}

/** `Async.<method>`, waited for: long storage calls outlive an HTTP request's patience. */
export function callAsync(ctx: CommandContext, method: string, ...args: unknown[]): Promise<unknown> {
  return ctx.client.callAsync(method, ...args);
}
