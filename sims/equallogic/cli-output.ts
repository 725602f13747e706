/**
 * @module
 * The Group Manager CLI's output layouts: detail blocks (a title rule, then `Key: value`
 * lines) and tables (a header row, a rule of dashes under each column, values too long
 * for their column wrapped onto following lines indented by two spaces within the
 * column, as the array prints long volume names and initiator names).
 */

/** `____ Volume Information ____`, 83 characters wide as the array prints it. */
export function titleRule(title: string): string {
  const inner = ` ${title} `;
  const left = Math.floor((83 - inner.length) / 2);
  return `${'_'.repeat(left)}${inner}${'_'.repeat(83 - inner.length - left)}`;
}

export function detailBlock(title: string, fields: ReadonlyArray<readonly [string, string]>): string[] {
  return [titleRule(title), ...fields.map(([k, v]) => (v === '' ? `${k}:` : `${k}: ${v}`))];
}

export interface Column { readonly header: string; readonly width: number }

function chunks(value: string, first: number, rest: number): string[] {
  if (value.length <= first) return [value];
  const out = [value.slice(0, first)];
  for (let i = first; i < value.length; i += rest) out.push(`  ${value.slice(i, i + rest)}`);
  return out;
}

export function table(columns: readonly Column[], rows: ReadonlyArray<readonly string[]>): string[] {
  const pad = (parts: string[]) => parts.map((p, i) => (i === parts.length - 1 ? p : p.padEnd(columns[i]!.width))).join(' ').trimEnd();
  const lines = [pad(columns.map((c) => c.header.slice(0, c.width))), columns.map((c) => '-'.repeat(c.width)).join(' ')];
  for (const row of rows) {
    const cells = columns.map((c, i) => chunks(row[i] ?? '', c.width, Math.max(1, c.width - 2)));
    const height = Math.max(...cells.map((c) => c.length));
    for (let l = 0; l < height; l++) lines.push(pad(cells.map((c) => c[l] ?? '')));
  }
  return lines;
}
