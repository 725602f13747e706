/**
 * @module
 * The failures an xe command can end with, one class per way xe reports them: usage,
 * syntax and missing-parameter errors (`<what>: <detail>` then a pointer to `xe help`),
 * `Error: <message>` failures, OCaml-style `failwith` failures that xe shows as an
 * internal error, an unknown record field (`Error code: Missing parameter`), and the
 * per-object failures of a `--multiple` operation.
 */

/** Print the usage and exit 0, after an optional note on stderr. */
export class UsageError extends Error {
  constructor(readonly note = '') {
    super(note || 'usage');
    this.name = 'UsageError';
  }
}

/** A fatal client-side problem (connection, password file): its message goes to stderr as is. */
export class ClientFatal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientFatal';
  }
}

/** A malformed command line: `Syntax error: <detail>`. */
export class ParseError extends Error {
  constructor(readonly detail: string) {
    super(`Syntax error: ${detail}`);
    this.name = 'ParseError';
  }
}

export class UnknownCommand extends Error {
  constructor(readonly command: string) {
    super(`Unknown command: ${command}`);
    this.name = 'UnknownCommand';
  }
}

/** A required parameter of the command was not given. */
export class ParamNotFound extends Error {
  constructor(readonly param: string) {
    super(`Required parameter not found: ${param}`);
    this.name = 'ParamNotFound';
  }
}

/**
 * A parameter that names no field of the record the command works on. xapi fails these
 * with an internal error; xe here reports it as the usage error it is (`Unknown
 * parameter: <name>` and the pointer to `xe help`), since the input is the client's.
 */
export class UnknownParam extends Error {
  constructor(readonly param: string) {
    super(`Unknown parameter: ${param}`);
    this.name = 'UnknownParam';
  }
}

/** A failure xe prints as `Error: <message>` (its Record_failure and Cli_failure). */
export class RecordFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordFailure';
  }
}

/** A failure xe raises with `failwith` (Cli_failure in xapi's CLI server), printed as `Error: <message>`. */
export class CliFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}

/** A `param-name=` (or filter) that is no field of the record. */
export class MissingParam extends Error {
  constructor(readonly param: string) {
    super(`Missing parameter: ${param}`);
    this.name = 'MissingParam';
  }
}

/** Some objects of a `--multiple` operation failed: one `[uuid, message]` per failure. */
export class MultipleFailure extends Error {
  constructor(readonly failures: ReadonlyArray<readonly [string, string]>) {
    super(`operation failed on ${failures.length} object(s)`);
    this.name = 'MultipleFailure';
  }
}

/** Ends the command with this exit code and nothing more printed. */
export class ExitWithError extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ExitWithError';
  }
}
