/**
 * What xe prints when a command fails, and its exit code, following xapi_cli.ml's
 * exception handler, cli_util.ml's server_error and newcli.ml's raw error form.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XapiCallError } from '../../src/client/xapi-call-error.js';
import {
  CliFailure, MissingParam, MultipleFailure, ParamNotFound, ParseError, RecordFailure, UnknownCommand, UsageError,
} from '../../src/cli/cli-errors.js';
import { reportError } from '../../src/cli/report-error.js';

function report(e: unknown): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = reportError(e, { out: (s) => { out += s; }, err: (s) => { err += s; } }, { argv0: 'xe', server: 'h' });
  return { code, out, err };
}

describe('reportError', () => {
  it('points syntax and lookup errors at xe help', () => {
    assert.deepEqual(report(new UnknownCommand('nope')), { code: 1, out: '', err: "Unknown command: nope\nFor usage run: 'xe help'\n" });
    assert.equal(report(new ParamNotFound('uuid')).err, "Required parameter not found: uuid\nFor usage run: 'xe help'\n");
    assert.equal(report(new ParseError('')).err, "Syntax error: \nFor usage run: 'xe help'\n");
  });

  it('prints a known XenAPI error as its description and named parameters', () => {
    const r = report(new XapiCallError('UUID_INVALID', ['VM', '123']));
    assert.equal(r.code, 1);
    assert.match(r.err, /^.+\ntype: VM\nuuid: 123\n$/);
  });

  it('marks missing and extra parameters as xe does', () => {
    assert.match(report(new XapiCallError('UUID_INVALID', ['VM'])).err, /\ntype: VM\nuuid: <unknown>\n$/);
    assert.match(report(new XapiCallError('UUID_INVALID', ['VM', 'u', 'x'])).err, /\nuuid: u\n<extra>: x\n$/);
  });

  it('prints an unknown code in the thin client raw form', () => {
    assert.equal(report(new XapiCallError('SOMETHING_NEW', ['a', 'b'])).err, 'Error code: SOMETHING_NEW\nError parameters: a, b\n');
    assert.equal(report(new MissingParam('bogus')).err, 'Error code: Missing parameter\nError parameters: bogus\n');
  });

  it('tells a wrong password from a missing user name', () => {
    assert.equal(report(new XapiCallError('SESSION_AUTHENTICATION_FAILED', ['root', 'bad'])).err,
      "Authentication failed\nFor usage run: 'xe help'\n");
    assert.equal(report(new XapiCallError('SESSION_AUTHENTICATION_FAILED', ['', 'x'])).err,
      "Username/password must be specified\nFor usage run: 'xe help'\n");
  });

  it('prints Error: for record failures and an internal error for failwith', () => {
    assert.equal(report(new RecordFailure('bad value')).err, 'Error: bad value\n');
    assert.match(report(new CliFailure("Field 'x' is read-only.")).err, /\nmessage: Failure: Field 'x' is read-only\.\n$/);
  });

  it('reports --multiple failures per object on stdout', () => {
    const r = report(new MultipleFailure([['u1', 'boom']]));
    assert.deepEqual(r, { code: 1, out: 'operation failed on u1: boom\n', err: '' });
  });

  it('prints the usage with exit 0, and connection failures as the thin client does', () => {
    const u = report(new UsageError());
    assert.equal(u.code, 0);
    assert.match(u.err, /^Usage:\n  xe <command>\n/);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(report(refused).err, 'Unable to contact server. Please check server and port settings.\n');
    const nx = Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' });
    assert.equal(report(nx).err, "Host 'h' not found.\n");
  });
});
