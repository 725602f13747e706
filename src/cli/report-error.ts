/**
 * @module
 * How a failed xe command ends: what it writes, where, and its exit code. Syntax, unknown
 * command and missing-parameter errors point at `xe help`; XenAPI errors print their
 * description and parameters; connection failures print the thin client's messages.
 */
import { XapiCallError } from '../client/xapi-call-error.js';
import {
  ClientFatal, CliFailure, ExitWithError, MissingParam, MultipleFailure, ParamNotFound, ParseError, RecordFailure,
  UnknownCommand, UnknownParam, UsageError,
} from './cli-errors.js';
import { formatServerError } from './error-docs.js';
import { usageOptions } from './usage-text.js';

export interface ErrorSinks {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

/** The thin client's usage text (no command given, `--help`). */
export function clientUsage(argv0: string): string {
  return `${usageOptions(argv0)}
A full list of commands can be obtained by running
  ${argv0} help -s <server> -p <port>
`;
}

const FOR_USAGE = "For usage run: 'xe help'\n";

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE']);

/** Writes what xe writes for `e` and returns the exit code. */
export function reportError(e: unknown, sinks: ErrorSinks, ctx: { argv0: string; server: string }): number {
  if (e instanceof UsageError) {
    sinks.err(e.note + clientUsage(ctx.argv0));
    return 0;
  }
  if (e instanceof ExitWithError) return e.code;
  if (e instanceof ParseError || e instanceof UnknownCommand || e instanceof ParamNotFound || e instanceof UnknownParam) {
    sinks.err(`${e.message}\n${FOR_USAGE}`);
    return 1;
  }
  // xe's own failures (its `failwith`, which raises Cli_failure) and record failures print
  // the same plain line; only a server's errors get the description-and-parameters form.
  if (e instanceof RecordFailure || e instanceof CliFailure) {
    sinks.err(`Error: ${e.message}\n`);
    return 1;
  }
  if (e instanceof MissingParam) {
    sinks.err(formatServerError('Missing parameter', [e.param]));
    return 1;
  }
  if (e instanceof MultipleFailure) {
    for (const [uuid, msg] of e.failures) sinks.out(`operation failed on ${uuid}: ${msg}\n`);
    return 1;
  }
  if (e instanceof XapiCallError) {
    if (e.code === 'SESSION_AUTHENTICATION_FAILED') {
      sinks.err(`${(e.params[0] ?? '') === '' ? 'Username/password must be specified' : 'Authentication failed'}\n${FOR_USAGE}`);
    } else {
      sinks.err(formatServerError(e.code, e.params));
    }
    return 1;
  }
  if (e instanceof ClientFatal) {
    sinks.err(e.message);
    return 1;
  }
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    sinks.err(`Host '${ctx.server}' not found.\n`);
    return 1;
  }
  if (typeof code === 'string' && CONNECT_CODES.has(code)) {
    sinks.err('Unable to contact server. Please check server and port settings.\n');
    return 1;
  }
  const msg = e instanceof Error ? e.message : String(e);
  sinks.err(formatServerError('INTERNAL_ERROR', [msg]));
  return 1;
}
