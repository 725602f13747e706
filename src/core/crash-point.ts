/**
 * @module
 * Named crash points for the crash-safety tests. `ISLET_CRASH_AT=<name>:<n>` (several may
 * be given, comma-separated) makes the process kill itself with SIGKILL the n-th time it
 * passes the named point, the closest a test can get to pulling the plug: no `finally`, no
 * exit handlers, no flushing of anything not already written. `ISLET_CRASH_TRACE=<file>`
 * appends `<name>:<n>` for every point passed, so a test can first learn which points an
 * operation reaches. Without either variable `crashPoint` only counts.
 */
import { appendFileSync } from 'node:fs';

const counts = new Map<string, number>();
let targets: Map<string, number> | null = null;

function parseTargets(): Map<string, number> {
  const out = new Map<string, number>();
  for (const spec of (process.env.ISLET_CRASH_AT ?? '').split(',')) {
    const at = spec.lastIndexOf(':');
    if (at <= 0) continue;
    const n = Number(spec.slice(at + 1));
    if (Number.isInteger(n) && n > 0) out.set(spec.slice(0, at).trim(), n);
  }
  return out;
}

/** Marks a point of an operation; may not return (see the module header). */
export function crashPoint(name: string): void {
  const n = (counts.get(name) ?? 0) + 1;
  counts.set(name, n);
  const trace = process.env.ISLET_CRASH_TRACE;
  if (trace) appendFileSync(trace, `${name}:${n}\n`);
  targets ??= parseTargets();
  if (targets.get(name) === n) process.kill(process.pid, 'SIGKILL');
}
