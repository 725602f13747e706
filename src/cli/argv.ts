/**
 * @module
 * xe's command-line grammar, in two layers as in XenServer. The thin client (newcli) takes
 * the connection settings out of the arguments: `-s/-h HOST -p PORT -u USER -pw PASS
 * -pwf FILE --nossl --debug --debug-on-fail --traceparent V`, or the same as
 * `server= port= username= password= passwordfile= nossl= debug=` words; the `~/.xe` rc
 * file applies first, then `XE_EXTRA_ARGS` (comma-separated, `\,` escapes a comma), then the
 * command line, each overriding the last. What is left is the command: its name, then
 * `k=v` words split at the first `=`, `--x` meaning `x=true`, and `map:key=v` kept whole.
 */
import { ClientFatal, ParseError, RecordFailure, UsageError } from './cli-errors.js';

export interface Connection {
  server: string;
  port: number | undefined;
  username: string;
  password: string;
  passwordFile: string;
  nossl: boolean;
  debug: boolean;
  debugOnFail: boolean;
  traceparent: string | undefined;
}

export interface ClientArgs {
  readonly conn: Connection;
  /** The command and its words, then rc-file and XE_EXTRA_ARGS words that were not settings. */
  readonly args: string[];
  /** `--help`/`-help` was given: print the usage. */
  readonly help: boolean;
}

export type Params = ReadonlyArray<readonly [string, string]>;

export interface CommandLine {
  readonly cmd: string;
  readonly params: Params;
}

export function defaultConnection(): Connection {
  return {
    server: '127.0.0.1', port: undefined, username: 'root', password: 'null', passwordFile: '',
    nossl: false, debug: false, debugOnFail: false, traceparent: undefined,
  };
}

function parsePort(v: string): number {
  const p = /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new UsageError('Port number must be an integer (0-65535)\n');
  return p;
}

function strictBool(v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ClientFatal(`Unhandled exception\nInvalid_argument("bool_of_string")\n`);
}

/** Applies a connection setting; false when `k` is not one (the word then goes to the command). */
function setKeyword(c: Connection, k: string, v: string): boolean {
  switch (k) {
    case 'server': c.server = v; return true;
    case 'port': c.port = parsePort(v); return true;
    case 'username': c.username = v; return true;
    case 'password': c.password = v; return true;
    case 'passwordfile': c.passwordFile = v; return true;
    case 'nossl': c.nossl = strictBool(v); return true;
    case 'debug': c.debug = v === 'true'; return true;
    case 'debugonfail': c.debugOnFail = v === 'true'; return true;
    case 'traceparent': c.traceparent = v; return true;
    default: return false;
  }
}

const DIADIC: Record<string, string> = { '-s': 'server', '-h': 'server', '-p': 'port', '-u': 'username', '-pw': 'password', '-pwf': 'passwordfile', '--traceparent': 'traceparent' };
const UNARY: Record<string, string> = { '--nossl': 'nossl', '--debug': 'debug', '--debug-on-fail': 'debugonfail' };

function splitEq(s: string): [string, string] | undefined {
  const i = s.indexOf('=');
  return i < 0 ? undefined : [s.slice(0, i), s.slice(i + 1)];
}

/** Takes the connection settings out of `words`, returning the rest in order. */
function consume(c: Connection, words: readonly string[]): string[] {
  const rest: string[] = [];
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    if (DIADIC[w] !== undefined && i + 1 < words.length) {
      setKeyword(c, DIADIC[w]!, words[i + 1]!);
      i += 2;
      continue;
    }
    if (UNARY[w] !== undefined) {
      setKeyword(c, UNARY[w]!, 'true');
      i++;
      continue;
    }
    const kv = splitEq(w);
    if (!kv || !setKeyword(c, kv[0], kv[1])) rest.push(w);
    i++;
  }
  return rest;
}

/** `~/.xe`: `key=value` lines; one line without `=` voids the whole file, as in xe. */
export function parseRcFile(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    if (line === '') continue;
    const kv = splitEq(line);
    if (!kv) {
      process.stderr.write('Error parsing rc file. No defaults loaded\n');
      return [];
    }
    out.push(kv);
  }
  return out;
}

/** XE_EXTRA_ARGS: comma-separated words; `\,` keeps a comma and backslashes are dropped. */
export function splitExtraArgs(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === ',' && s[i - 1] !== '\\') {
      if (any) out.push(cur.replaceAll('\\', ''));
      cur = '';
      any = false;
    } else {
      cur += ch;
      any = true;
    }
  }
  if (any) out.push(cur.replaceAll('\\', ''));
  return out;
}

export interface ArgSources {
  /** Contents of `~/.xe`, when it exists. */
  readonly rcText?: string;
  /** The value of XE_EXTRA_ARGS, when set. */
  readonly extraArgs?: string;
}

/** The thin client's half: connection settings from rc file, env and argv (in rising precedence). */
export function parseClientArgs(argv: readonly string[], src: ArgSources = {}): ClientArgs {
  const conn = defaultConnection();
  const rcRest: string[] = [];
  for (const [k, v] of src.rcText !== undefined ? parseRcFile(src.rcText) : []) {
    if (!setKeyword(conn, k, v)) rcRest.push(`${k}=${v}`);
  }
  const extrasRest = consume(conn, src.extraArgs ? splitExtraArgs(src.extraArgs) : []);
  const help = argv.some((a) => a === '-help' || a === '--help');
  const argsRest = consume(conn, argv);
  return { conn, args: [...argsRest, ...extrasRest, ...rcRest], help };
}

/**
 * The server's half: the command name, then its parameters in order. Duplicates are kept;
 * lookups take the first, as xapi's `List.assoc` does.
 */
export function parseCommandLine(args: readonly string[]): CommandLine {
  const [cmd, ...rest] = args;
  if (cmd === undefined) throw new UsageError();
  if (cmd.includes('=')) throw new ParseError('');
  const params: Array<[string, string]> = [];
  for (let i = 0; i < rest.length; i++) {
    const p = rest[i]!;
    if (p.startsWith('--')) {
      params.push([p.slice(2), 'true']);
    } else if (p.startsWith('-')) {
      // A diadic switch the client did not consume; xapi knows a few, the rest are errors.
      const key = SERVER_SWITCHES[p];
      if (key === undefined || i + 1 >= rest.length) throw new ParseError('');
      params.push([key, rest[++i]!]);
    } else {
      const kv = splitEq(p);
      params.push(kv ?? [p, '']);
    }
  }
  return { cmd, params };
}

const SERVER_SWITCHES: Record<string, string> = {
  '-u': 'username', '-pw': 'password', '-s': 'server', '-h': 'server', '-p': 'port',
};

/** The first value of `name`, as xapi's `List.assoc` finds it. */
export function getParam(params: Params, name: string): string | undefined {
  for (const [k, v] of params) if (k === name) return v;
  return undefined;
}

export function hasParam(params: Params, name: string): boolean {
  return params.some(([k]) => k === name);
}

/** xapi's CLI boolean: true/t/yes/y/1 or false/f/no/n/0, any case. */
export function parseCliBool(name: string, v: string): boolean {
  const s = v.toLowerCase();
  if (['true', 't', 'yes', 'y', '1'].includes(s)) return true;
  if (['false', 'f', 'no', 'n', '0'].includes(s)) return false;
  throw new RecordFailure(`Failed to parse parameter '${name}': Expected 'true','t','yes','y','1','false','f','no','n','0' got ${v}`);
}

export function getBoolParam(params: Params, name: string, dflt = false): boolean {
  const v = getParam(params, name);
  return v === undefined ? dflt : parseCliBool(name, v);
}

