/**
 * @module
 * Runs a command under a real pseudo-terminal made by util-linux's `script` (bsdutils, on
 * every Debian), stdout and stderr both the terminal as in an interactive shell, and gives
 * back what the terminal showed. Tests of progress bars use it; without `script` they
 * cannot be real, so `runOnTerminal` fails rather than letting them pass vacuously.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface TerminalRun {
  code: number;
  /** Everything the terminal received, control characters included. */
  screen: string;
}

export async function runOnTerminal(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000): Promise<TerminalRun> {
  await run('script', ['--version']).catch(() => {
    throw new Error('util-linux `script` is needed (apt-get install bsdutils)');
  });
  try {
    const { stdout } = await run('script', ['-q', '-e', '-f', '-c', argv.map(quote).join(' '), '/dev/null'], {
      env: { ...process.env, TERM: 'xterm', COLUMNS: '120', ...env }, maxBuffer: 16 * 1024 * 1024, timeout: timeoutMs,
    });
    return { code: 0, screen: stdout };
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, screen: err.stdout ?? '' };
  }
}
