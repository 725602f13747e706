/**
 * @module
 * The `xe` program: reads the connection settings (command line, `XE_EXTRA_ARGS`,
 * `~/.xe`), parses the command, answers `help` locally, otherwise logs in over XenAPI,
 * runs the command's module and logs out. Like xe on a XenServer host, it speaks plain
 * HTTP to 127.0.0.1 and TLS elsewhere unless `--nossl`; the default port follows the
 * scheme (443, or 80).
 */
import fs from 'node:fs';
import path from 'node:path';
import { os } from '../client/lazy-builtin.js';
import { XapiClient } from '../client/xapi-client.js';
import { type Connection, getParam, parseClientArgs, parseCommandLine } from './argv.js';
import { ClientFatal, ParamNotFound, UnknownCommand, UsageError } from './cli-errors.js';
import { type CommandModule, makeContext } from './command-context.js';
import { findCommand, loginFor } from './command-table.js';
import { Printer } from './printer.js';
import { reportError } from './report-error.js';

export interface XeIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const defaultIo: XeIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
};

function readRc(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return fs.readFileSync(path.join(env.HOME ?? os().homedir(), '.xe'), 'utf8');
  } catch {
    return undefined;
  }
}

/** `-pwf FILE`: the user name on the first line, the password on the second. */
function readPasswordFile(conn: Connection): void {
  let text: string;
  try {
    text = fs.readFileSync(conn.passwordFile, 'utf8');
  } catch {
    throw new ClientFatal(`Error opening password file '${conn.passwordFile}'\n`);
  }
  const lines = text.split('\n');
  if (lines.length < 2 || (lines.length === 2 && lines[1] === '')) {
    throw new ClientFatal('Error: password file format: expecting username on the first line, password on the second line\n');
  }
  conn.username = lines[0]!;
  conn.password = lines[1]!;
}

/** The URL xe connects to: never TLS to 127.0.0.1 (as xe on-host), else TLS unless --nossl. */
export function serverUrl(conn: Connection): string {
  const ssl = !conn.nossl && conn.server !== '127.0.0.1';
  const port = conn.port ?? (ssl ? 443 : 80);
  const bare = conn.server.replace(/^\[(.*)\]$/, '$1');
  const host = bare.includes(':') ? `[${bare}]` : bare;
  return `${ssl ? 'https' : 'http'}://${host}:${port}`;
}

/** Resolves when `p` settles or after `ms`, whichever comes first; never rejects. */
function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => { clearTimeout(timer); resolve(); };
    p.then(done, done);
  });
}

/** Runs one xe invocation and resolves with its exit code. */
export async function main(argv: readonly string[], io: XeIo = defaultIo, argv0 = 'xe'): Promise<number> {
  let server = '127.0.0.1';
  let debugLog: string[] | undefined;
  let debugOnFail = false;
  try {
    const parsed = parseClientArgs(argv, { rcText: readRc(io.env), extraArgs: io.env.XE_EXTRA_ARGS });
    const { conn } = parsed;
    server = conn.server;
    if (parsed.help || parsed.args.length === 0) throw new UsageError();
    if (conn.passwordFile) readPasswordFile(conn);
    debugOnFail = conn.debugOnFail;
    if (conn.debugOnFail) debugLog = [];
    const { cmd, params } = parseCommandLine(parsed.args);
    const printer = new Printer(getParam(params, 'minimal') === 'true', io);
    if (cmd === 'help') {
      const { runHelp } = await import('./commands/help.js');
      await runHelp(printer, params, argv0);
      printer.flush();
      return 0;
    }
    const debug = conn.debug ? (l: string) => io.err(`${l}\n`) : debugLog ? (l: string) => debugLog!.push(l) : undefined;
    const client = new XapiClient({ url: serverUrl(conn), ...(debug ? { debug } : {}) });
    // The login goes out first: while the server connects, shakes hands and checks the
    // password, this side finds the command (building its class's fields) and loads its
    // module. Which login to make is known from the fixed table alone. A command refused
    // here still waits a moment for that login, to end the session it may have opened.
    const kind = loginFor(cmd);
    const login: Promise<unknown> = kind === 'none'
      ? Promise.resolve()
      : kind === 'local'
        ? client.rawCall('session.slave_local_login_with_password', [conn.username, conn.password]).then((s) => client.useSession(String(s)))
        : client.login(conn.username, conn.password, { version: '1.1', originator: 'cli' });
    login.catch(() => undefined); // awaited below on every path
    try {
      let mod: CommandModule;
      try {
        const spec = await findCommand(cmd);
        if (!spec) throw new UnknownCommand(cmd);
        for (const p of spec.reqd) if (getParam(params, p) === undefined) throw new ParamNotFound(p);
        mod = await spec.load();
      } catch (e) {
        await settledWithin(login.then(() => client.logoutWithoutWaiting(), () => undefined), 2000);
        throw e;
      }
      await login;
      try {
        await mod.run(makeContext({ cmd, params, printer, client, conn, argv0 }));
      } finally {
        // xe's exit does not wait for the server's answer (see logoutWithoutWaiting).
        await client.logoutWithoutWaiting();
      }
    } finally {
      client.close();
    }
    printer.flush();
    return 0;
  } catch (e) {
    const code = reportError(e, io, { argv0, server });
    if (code !== 0 && debugOnFail && debugLog?.length) io.err(`\nDebug info:\n\n${debugLog.join('\n')}\n`);
    return code;
  }
}
