/**
 * @module
 * xe's output, byte for byte as XenServer's CLI printer lays it out. A record prints one
 * `key: value` line per field: every key is padded to the longest key plus four, the first
 * left-aligned and the others right-aligned, and the record ends with two empty lines (the
 * server adds one newline, the thin client another). `--minimal` prints only the first
 * value of each record (or each list item) on one line, comma-joined, with `,` and `\`
 * escaped; plain messages are not shown in that mode.
 */

/** One record: `[key, value]` in print order, where the key already carries `( RO)` etc. */
export type PrintRecord = ReadonlyArray<readonly [string, string]>;

export type PrintVal =
  | { readonly kind: 'msg'; readonly text: string }
  | { readonly kind: 'table'; readonly records: readonly PrintRecord[] }
  | { readonly kind: 'list'; readonly items: readonly string[] }
  | { readonly kind: 'stderr'; readonly text: string };

function padLeft(s: string, len: number): string {
  return s.length >= len ? s : ' '.repeat(len - s.length) + s;
}

function padRight(s: string, len: number): string {
  return s.length >= len ? s : s + ' '.repeat(len - s.length);
}

/** One record as xe lays it out, ending with a single newline. */
export function formatRecord(r: PrintRecord): string {
  const width = 4 + r.reduce((m, [k]) => Math.max(m, k.length), 0);
  const lines = r.map(([k, v], i) => `${i === 0 ? padRight(k, width) : padLeft(k, width)}: ${visible(v)}`);
  return `${lines.join('\n')}\n`;
}

// C0 controls, DEL, C1 controls and the bidirectional overrides and isolates.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu;
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu;

function escapeOne(c: string): string {
  const n = c.codePointAt(0)!;
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/**
 * A value as xe may put it on a terminal: control and escape characters (which could move
 * the cursor, recolour or retitle the terminal, or reverse a name's display) are shown as
 * `\xNN` / `\uNNNN` instead of being sent raw. Messages keep their line breaks.
 */
export function visible(s: string, keepLines = false): string {
  return s.replace(keepLines ? CONTROL_BUT_LINES : CONTROL, escapeOne);
}

/** `--minimal` escaping: a comma becomes `\,` and a backslash `\\`. */
export function escapeCommas(s: string): string {
  return s.replace(/[\\,]/g, (c) => `\\${c}`);
}

export interface PrinterSinks {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

export class Printer {
  readonly minimal: boolean;
  readonly #sinks: PrinterSinks;
  /** Minimal-mode lines, newest first, as xe joins them. */
  readonly #buffer: string[] = [];

  constructor(minimal: boolean, sinks: PrinterSinks) {
    this.minimal = minimal;
    this.#sinks = sinks;
  }

  print(v: PrintVal): void {
    if (this.minimal) return this.#printMinimal(v);
    switch (v.kind) {
      case 'table':
        for (const r of v.records) this.#sinks.out(`${formatRecord(r)}\n\n`);
        return;
      case 'list':
        for (const s of v.items) this.#sinks.out(`${visible(s)}\n`);
        return;
      case 'msg':
        this.#sinks.out(`${visible(v.text, true)}\n`);
        return;
      case 'stderr':
        this.#sinks.err(`${visible(v.text, true)}\n`);
        return;
    }
  }

  table(records: readonly PrintRecord[]): void {
    this.print({ kind: 'table', records });
  }

  list(items: readonly string[]): void {
    this.print({ kind: 'list', items });
  }

  msg(text: string): void {
    this.print({ kind: 'msg', text });
  }

  stderr(text: string): void {
    this.print({ kind: 'stderr', text });
  }

  /** Ends the command's output: in minimal mode, the one comma-joined line. */
  flush(): void {
    if (this.minimal) this.#sinks.out(`${this.#buffer.join(',')}\n`);
  }

  #printMinimal(v: PrintVal): void {
    if (v.kind === 'table') {
      if (v.records.length > 0 && v.records.every((r) => r.length > 0)) {
        this.#buffer.unshift(v.records.map((r) => escapeCommas(visible(r[0]![1]))).join(','));
      }
    } else if (v.kind === 'list') {
      this.#buffer.unshift(v.items.map((i) => escapeCommas(visible(i))).join(','));
    }
  }
}
