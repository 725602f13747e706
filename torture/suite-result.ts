/**
 * @module
 * What a torture suite hands back: the figures it measured, in the order it prints them,
 * and every failure it saw, each a sentence naming what broke. A suite never throws for a
 * failure of the system under test; it records it, so one run reports all of them and the
 * caller (the `npm run torture` command or a test) decides what zero means.
 */
export interface SuiteResult {
  readonly suite: string;
  readonly figures: Array<readonly [string, string | number]>;
  readonly failures: string[];
}

export class SuiteRecorder {
  readonly figures: Array<readonly [string, string | number]> = [];
  readonly failures: string[] = [];
  constructor(readonly suite: string) {}

  figure(label: string, value: string | number): void {
    this.figures.push([label, value]);
  }

  fail(message: string): void {
    this.failures.push(message);
  }

  /** Records a failure unless `ok`; returns `ok`. */
  check(ok: boolean, message: string): boolean {
    if (!ok) this.fail(message);
    return ok;
  }

  result(): SuiteResult {
    return { suite: this.suite, figures: this.figures, failures: this.failures };
  }
}

/** The figures as aligned `label  value` lines, then the failures (at most `maxFailures`). */
export function formatResult(r: SuiteResult, maxFailures = 40): string {
  const width = Math.max(0, ...r.figures.map(([l]) => l.length));
  const lines = [`torture ${r.suite}:`];
  for (const [label, value] of r.figures) lines.push(`  ${label.padEnd(width)}  ${value}`);
  lines.push(`  ${'failures'.padEnd(width)}  ${r.failures.length}`);
  for (const f of r.failures.slice(0, maxFailures)) lines.push(`    - ${f}`);
  if (r.failures.length > maxFailures) lines.push(`    … and ${r.failures.length - maxFailures} more`);
  return lines.join('\n');
}

/** Nearest-rank percentile of `sorted` (ascending), `p` in 0..100. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Parses `--name=value` / `--name value` options into numbers or strings. */
export function parseOptions(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) out[a.slice(2)] = argv[++i]!;
    else out[a.slice(2)] = 'true';
  }
  return out;
}

/** A positive integer option, or `fallback`. */
export function intOption(opts: Record<string, string>, name: string, fallback: number): number {
  const v = opts[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
}
