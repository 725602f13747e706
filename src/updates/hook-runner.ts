/**
 * @module
 * Runs an update's `hooks/precheck` or `hooks/apply`. A hook is the update author's code, so
 * it gets nothing from the toolstack's environment (no session, no secrets, no inherited
 * variables): only a fixed PATH, a C locale and a few `ISLET_*` facts about the update and
 * the host. It runs in its own process group and is killed with that group when it
 * outlives its time limit; its output is kept up to a bound.
 */
import { spawn } from 'node:child_process';

export interface HookRun {
  readonly exitCode: number | null;
  /** Set when the hook was killed for running too long. */
  readonly timedOut: boolean;
  /** stdout and stderr interleaved, cut at `maxOutput` bytes. */
  readonly output: string;
}

export interface HookOptions {
  readonly cwd: string;
  /** Extra variables; only `ISLET_*` names are passed. */
  readonly vars: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxOutput?: number;
}

export const DEFAULT_HOOK_TIMEOUT_MS = 5 * 60 * 1000;

export function runHook(program: string, o: HookOptions): Promise<HookRun> {
  const env: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C', HOME: o.cwd };
  for (const [k, v] of Object.entries(o.vars)) if (k.startsWith('ISLET_')) env[k] = v;
  const max = o.maxOutput ?? 64 * 1024;
  return new Promise((resolve) => {
    const child = spawn(program, [], { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = Buffer.alloc(0);
    const take = (c: Buffer) => {
      if (out.length < max) out = Buffer.concat([out, c.subarray(0, max - out.length)]);
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, o.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ exitCode: null, timedOut: false, output: `cannot run ${program}: ${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      // A hook may leave children behind holding our pipes; they go with the group.
      if (timedOut) killGroup();
      resolve({ exitCode: code, timedOut, output: out.toString('utf8') });
    });
  });
}

/** A one-line account of a failed run, for PATCH_APPLY_FAILED and precheck errors. */
export function describeFailure(name: string, r: HookRun, timeoutMs: number): string {
  const why = r.timedOut ? `${name} did not finish within ${Math.round(timeoutMs / 1000)} s` : `${name} exited with status ${r.exitCode}`;
  return r.output.trim() ? `${why}: ${r.output.trim()}` : why;
}
