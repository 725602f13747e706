/**
 * @module
 * A complete record for a class's `create` from the few fields a caller cares about.
 * XenAPI's `create` takes the whole record and refuses one that lacks a field XenAPI gives
 * no default for (FIELD_TYPE_ERROR naming it), as xapi does; clients such as Xen
 * Orchestra therefore always send every such field. This fills each missing one with the
 * datamodel's value for it, which is what the object would have held had the field been
 * optional, and pairs VM VCPU counts (one given, the other equal; one VCPU when neither is).
 */
import { classByName } from '../datamodel/index.js';

export function completeRecord(cls: string, given: Record<string, unknown>): Record<string, unknown> {
  const c = classByName(cls);
  if (!c) throw new Error(`no class ${cls}`);
  const out: Record<string, unknown> = { ...given };
  if (cls === 'VM') {
    if (out.VCPUs_max === undefined && out.VCPUs_at_startup !== undefined) out.VCPUs_max = out.VCPUs_at_startup;
    if (out.VCPUs_at_startup === undefined && out.VCPUs_max !== undefined) out.VCPUs_at_startup = out.VCPUs_max;
    if (out.VCPUs_max === undefined) out.VCPUs_max = out.VCPUs_at_startup = 1;
  }
  for (const f of c.fields) {
    if (f.required && out[f.name] === undefined) out[f.name] = structuredClone(f.default);
  }
  return out;
}
