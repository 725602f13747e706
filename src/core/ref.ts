/**
 * @module
 * Object references and uuids. A ref is `OpaqueRef:<uuid>`, branded by class so that a
 * VM ref cannot be passed where an SR ref is wanted.
 */
import { randomUUID } from 'node:crypto';

declare const brand: unique symbol;
export type Ref<C extends string = string> = string & { readonly [brand]?: C };

export const NULL_REF = 'OpaqueRef:NULL' as Ref<never>;

export function newRef<C extends string>(): Ref<C> {
  return `OpaqueRef:${randomUUID()}` as Ref<C>;
}
export function newUuid(): string {
  return randomUUID();
}
export function isRef(s: unknown): s is Ref {
  return typeof s === 'string' && s.startsWith('OpaqueRef:');
}
export function isNullRef(s: unknown): boolean {
  return s === NULL_REF || s === '' || s === undefined || s === null;
}
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(s: unknown): boolean {
  return typeof s === 'string' && UUID_RE.test(s);
}

/** XenAPI's datetime spelling, `20250319T04:16:24Z`. */
export function xapiDate(d: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}Z`;
}
export function parseXapiDate(s: string): Date {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:\.\d+)?Z?$/.exec(s);
  if (!m) return new Date(NaN);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
