/**
 * @module
 * Reading Group Manager CLI output by field names, never by column positions: detail
 * blocks are `Key: value` lines (keys may hold spaces, values may be empty), tables are
 * read through their header row and the dash rule beneath it, which gives each header its
 * span; a line starting with blanks continues the row above, its text appended to the
 * column whose span it starts in (long names wrap that way). Sizes come back as bytes.
 */

/** `Key: value` pairs of a detail block; the first occurrence of a key wins. */
export function parseDetail(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\r/g, '');
    const m = /^([A-Za-z][A-Za-z0-9 _./-]*?):(?:\s(.*))?$/.exec(line.trim());
    if (!m || /^_+/.test(line)) continue;
    if (!out.has(m[1]!)) out.set(m[1]!, (m[2] ?? '').trim());
  }
  return out;
}

/** The value of `key`, or an Error naming the key and the output it was missing from. */
export function field(detail: Map<string, string>, key: string): string {
  const v = detail.get(key);
  if (v === undefined) throw new Error(`the array's output has no ${key} field`);
  return v;
}

/** Rows of a table as header → value, continuation lines joined to their column. */
export function parseTable(text: string): Array<Record<string, string>> {
  const lines = text.split(/\r?\n/).map((l) => l.replace(/\r/g, ''));
  const ruleAt = lines.findIndex((l) => /^-+( +-+)*\s*$/.test(l) && l.trim().length > 0);
  if (ruleAt < 1) return [];
  const rule = lines[ruleAt]!;
  const spans: Array<{ start: number; end: number }> = [];
  for (const m of rule.matchAll(/-+/g)) spans.push({ start: m.index!, end: m.index! + m[0].length });
  const header = lines[ruleAt - 1]!;
  const names = spans.map((s, i) => header.slice(s.start, i + 1 < spans.length ? spans[i + 1]!.start : undefined).trim());
  const columnAt = (pos: number) => {
    let c = 0;
    for (let i = 0; i < spans.length; i++) if (spans[i]!.start <= pos) c = i;
    return c;
  };
  const rows: Array<Record<string, string>> = [];
  for (const line of lines.slice(ruleAt + 1)) {
    if (!line.trim()) continue;
    if (/^\s/.test(line) && rows.length) {
      // Continuation: each run of text belongs to the column it starts in.
      const row = rows[rows.length - 1]!;
      for (const m of line.matchAll(/\S+/g)) {
        const name = names[columnAt(m.index!)]!;
        row[name] = `${row[name] ?? ''}${m[0]}`;
      }
      continue;
    }
    const row: Record<string, string> = {};
    spans.forEach((s, i) => {
      const end = i + 1 < spans.length ? spans[i + 1]!.start : undefined;
      row[names[i]!] = line.slice(s.start, end).trim();
    });
    rows.push(row);
  }
  return rows;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4, PB: 1024 ** 5 };

/** `1.01GB`, `0MB`, `15MB` → bytes; `102.4MB` rounds to the nearest byte. */
export function parseEqlSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTP]?B)$/i.exec(text.trim());
  if (!m) throw new Error(`cannot read a size from ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
}

/** The array's answer to a command failed: its `% Error` / `Error:` lines, or undefined. */
export function errorLines(text: string): string | undefined {
  const errs = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => /^(% Error|Error:)/.test(l));
  return errs.length ? errs.join('; ') : undefined;
}
