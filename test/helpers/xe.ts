/**
 * Runs the compiled command-line tools (`bin/xe`, `bin/islet`) the way a user does: a
 * child process with a clean HOME (the developer's ~/.xe stays out of the test) and no
 * XE_EXTRA_ARGS, its output collected, and a deadline after which it is killed and the
 * run fails with a message. `xeOn` binds xe to one server so a test writes
 * `xe('vm-list')`, and `xeOk` fails with xe's own output when the exit code is not 0;
 * `startXeServer` gives a test its server, a root session and a bound xe.
 * Needs a built tree (`npm run build`): the bins run `dist/`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XapiClient } from '../../src/client/xapi-client.js';
import { type IsletProcess, startIslet } from './islet-server.js';
import { repoRoot } from './repo-root.js';

/** What a run printed and how it ended. */
export interface XeRun { code: number | null; out: string; err: string }

export interface RunOptions {
  /** The HOME the tool sees; xe keeps its settings there. */
  home?: string;
  /** Written to stdin, which is then closed (a prompt's answer); stdin is closed at once otherwise. */
  input?: string;
  cwd?: string;
  /** The script to run instead of `bin/<tool>` (a symlink to it, say). */
  bin?: string;
  /** How long the run may take before it is killed and fails (default 120 s). */
  timeoutMs?: number;
}

/** Runs `bin/<tool>` with `args` to its end. */
export function runBin(tool: 'xe' | 'islet', args: readonly string[], o: RunOptions = {}): Promise<XeRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...(o.home === undefined ? {} : { HOME: o.home }) };
    delete env.XE_EXTRA_ARGS;
    const child = spawn(process.execPath, [o.bin ?? join(repoRoot(), 'bin', tool), ...args], {
      env, stdio: ['pipe', 'pipe', 'pipe'], ...(o.cwd ? { cwd: o.cwd } : {}),
    });
    let out = '';
    let err = '';
    const limit = o.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${tool} ${args.join(' ')} did not end in ${limit / 1000} s; it printed:\n${out}${err}`));
    }, limit);
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
    child.stdin.end(o.input ?? '');
  });
}

/** Runs `bin/xe` with `args` (connection arguments included) to its end. */
export function runXe(args: readonly string[], o: RunOptions = {}): Promise<XeRun> {
  return runBin('xe', args, o);
}

/** The server xe talks to, read when each command runs (a test's server starts in `before`). */
export interface XeTarget {
  /** `https://host:port` or `http://host:port` of the server, or just its port on 127.0.0.1. */
  readonly url?: string;
  readonly port?: number;
  readonly password: string;
  readonly home: string;
}

/** The connection arguments for `t`: `-s host -p port -pw password`. */
export function xeConnection(t: XeTarget): string[] {
  if (t.url !== undefined) {
    const u = new URL(t.url);
    return ['-s', u.hostname, '-p', u.port || (u.protocol === 'http:' ? '80' : '443'), '-pw', t.password];
  }
  return ['-s', '127.0.0.1', '-p', String(t.port), '-pw', t.password];
}

/** Fails with xe's own output unless the run ended with 0; the output, trimmed, otherwise. */
export function okOutput(args: readonly string[], r: XeRun): string {
  if (r.code !== 0) throw new Error(`xe ${args.join(' ')} failed (${r.code}):\n${r.out}${r.err}`);
  return r.out.trim();
}

export interface BoundXe {
  (...args: string[]): Promise<XeRun>;
  /** The command's output, trimmed; fails unless xe ended with 0. */
  ok(...args: string[]): Promise<string>;
  /** The command with `input` on stdin (the answer to a prompt). */
  answering(input: string, ...args: string[]): Promise<XeRun>;
}

/** xe bound to one server: `const xe = xeOn(() => ({ port: islet.port, password, home }))`. */
export function xeOn(target: () => XeTarget): BoundXe {
  const run = (input: string | undefined, args: string[]) => {
    const t = target();
    return runXe([...xeConnection(t), ...args], { home: t.home, ...(input === undefined ? {} : { input }) });
  };
  const xe = ((...args: string[]) => run(undefined, args)) as BoundXe;
  xe.ok = async (...args) => okOutput(args, await run(undefined, args));
  xe.answering = (input, ...args) => run(input, args);
  return xe;
}

/** One `islet server` for xe tests: a root XenAPI session on it, and xe bound to it with its own HOME. */
export interface XeServer {
  readonly islet: IsletProcess;
  readonly api: XapiClient;
  readonly home: string;
  readonly xe: BoundXe;
  /** Logs out, stops the server and removes the HOME. */
  stop(): Promise<void>;
}

export async function startXeServer(o: { password: string; env?: Record<string, string> }): Promise<XeServer> {
  const home = await mkdtemp(join(tmpdir(), 'xe-home-'));
  const islet = await startIslet({ rootPassword: o.password, ...(o.env ? { env: o.env } : {}) });
  const api = new XapiClient({ url: islet.url });
  await api.login('root', o.password);
  return {
    islet, api, home,
    xe: xeOn(() => ({ port: islet.port, password: o.password, home })),
    stop: async () => {
      await api.logout().catch(() => undefined);
      api.close();
      await islet.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}
