/**
 * @module
 * Constraints XenServer puts on record values that come from clients, checked on create
 * and on set: names are single lines of printable text of bounded length (no NUL, no
 * control or escape characters, no bidirectional overrides that make a name display as
 * another), descriptions may hold line breaks but nothing else of the sort, and a VM's
 * memory limits stay ordered and its VCPU counts sane. A breach is INVALID_VALUE (or
 * xapi's MEMORY_CONSTRAINT_VIOLATION) naming the field; nothing is written.
 */
import { ApiError } from './api-error.js';

export const MAX_NAME_LENGTH = 1024;
export const MAX_DESCRIPTION_LENGTH = 64 * 1024;

// C0 controls, DEL, C1 controls, and the Unicode bidirectional embeddings, overrides and isolates.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;
const CONTROL_EXCEPT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

const TEXT_RULES: Record<string, { max: number; control: RegExp }> = {
  name_label: { max: MAX_NAME_LENGTH, control: CONTROL },
  name_description: { max: MAX_DESCRIPTION_LENGTH, control: CONTROL_EXCEPT_LINES },
};

const shown = (v: string) => JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);

/** Checks one field's new value if it is a name or description. */
export function checkTextField(field: string, value: unknown): void {
  const rule = TEXT_RULES[field];
  if (!rule || typeof value !== 'string') return;
  if (value.length > rule.max) throw new ApiError('INVALID_VALUE', [field, `longer than ${rule.max} characters`]);
  const bad = rule.control.exec(value);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).padStart(4, '0');
    throw new ApiError('INVALID_VALUE', [field, `${shown(value)} holds the control character U+${code.toUpperCase()}`]);
  }
}

/** Checks every name and description of a record about to be written. */
export function checkTextFields(row: Readonly<Record<string, unknown>>): void {
  for (const f of Object.keys(TEXT_RULES)) if (f in row) checkTextField(f, row[f]);
}

const MEMORY_ORDER = 'Memory limits must satisfy: static_min <= dynamic_min <= dynamic_max <= static_max';

/** xapi's memory ordering on a VM record (missing limits count as 0). */
export function checkVmMemory(row: Readonly<Record<string, unknown>>): void {
  const n = (f: string) => Number(row[f] ?? 0);
  const [smin, dmin, dmax, smax] = ['memory_static_min', 'memory_dynamic_min', 'memory_dynamic_max', 'memory_static_max'].map(n) as [number, number, number, number];
  if (![smin, dmin, dmax, smax].every((x) => Number.isFinite(x) && x >= 0)) throw new ApiError('MEMORY_CONSTRAINT_VIOLATION', [MEMORY_ORDER]);
  if (!(smin <= dmin && dmin <= dmax && dmax <= smax)) throw new ApiError('MEMORY_CONSTRAINT_VIOLATION', [MEMORY_ORDER]);
}

/** VCPU counts: at least one each, the start count no more than the maximum. */
export function checkVmVcpus(row: Readonly<Record<string, unknown>>): void {
  const max = Number(row.VCPUs_max ?? 0);
  const start = Number(row.VCPUs_at_startup ?? 0);
  if (!Number.isInteger(max) || max < 1) throw new ApiError('INVALID_VALUE', ['VCPUs_max', String(row.VCPUs_max)]);
  if (!Number.isInteger(start) || start < 1 || start > max) throw new ApiError('INVALID_VALUE', ['VCPUs_at_startup', String(row.VCPUs_at_startup)]);
}

/**
 * The VM fields of a VM.create: a VCPU count given alone stands for both; counts and
 * memory given are checked (limits not given count as 0). Returns the completed row.
 */
export function checkNewVm(row: Record<string, unknown>): Record<string, unknown> {
  const out = { ...row };
  if (out.VCPUs_max === undefined && out.VCPUs_at_startup !== undefined) out.VCPUs_max = out.VCPUs_at_startup;
  if (out.VCPUs_at_startup === undefined && out.VCPUs_max !== undefined) out.VCPUs_at_startup = out.VCPUs_max;
  if (out.VCPUs_max !== undefined) checkVmVcpus(out);
  if (['memory_static_min', 'memory_dynamic_min', 'memory_dynamic_max', 'memory_static_max'].some((f) => out[f] !== undefined)) checkVmMemory(out);
  return out;
}
