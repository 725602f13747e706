/**
 * @module
 * The way back from what a user types to what the API takes: `param-set memory=1024`
 * becomes a number, `default-SR=<uuid>` a reference (an empty value the null reference),
 * `enabled=true` a boolean, with xe's messages when the text does not parse.
 */
import type { Ty } from '../../datamodel/dsl.js';
import { RecordFailure } from '../cli-errors.js';
import type { CommandContext } from '../command-context.js';
import type { CliField, Row } from '../records.js';
import type { RefResolver } from '../ref-resolver.js';

/** Converts a command-line string to the wire value of type `ty`. */
export async function fromCli(ctx: CommandContext, name: string, ty: Ty, v: string): Promise<unknown> {
  const fail = (what: string) => new RecordFailure(`Failed to parse parameter '${name}': expecting ${what}`);
  switch (ty.kind) {
    case 'int':
      if (!/^[-+]?\d+$/.test(v.trim())) throw fail('an integer');
      return Number(v.trim());
    case 'float': {
      const n = Number(v.trim());
      if (v.trim() === '' || !Number.isFinite(n)) throw fail('a number');
      return n;
    }
    case 'bool':
      if (v === 'true') return true;
      if (v === 'false') return false;
      throw fail('a boolean (true or false)');
    case 'enum': {
      const hit = ty.values.find((x) => x.toLowerCase() === v.toLowerCase());
      if (hit === undefined) throw fail(`one of ${ty.values.join(', ')}`);
      return hit;
    }
    case 'ref':
      if (v === '' || v === 'OpaqueRef:NULL') return 'OpaqueRef:NULL';
      if (v.startsWith('OpaqueRef:')) return v;
      return ctx.call(`${ty.cls}.get_by_uuid`, v);
    default:
      return v;
  }
}

/** A set field's members as `[shown, wire value]`, so a user can name a member by its uuid. */
export function rawMembers(f: CliField, row: Row, res: RefResolver): Array<[string, unknown]> {
  const raw = f.decl ? row.rec[f.decl.name] : undefined;
  const values = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : [];
  const shown = f.items(row, res);
  return values.map((x, i) => [shown[i] ?? String(x), x]);
}
