/**
 * @module
 * Fuzz target for `xe`'s argument grammar: the input is split into words (at NUL bytes)
 * and read as the client reads its command line, rc file and XE_EXTRA_ARGS, then as the
 * server half reads the command and its `key=value` parameters and booleans. The errors
 * xe reports to a user (usage, parse, record failures, fatal client errors) are declared;
 * anything else would end `xe` with a stack trace. Generated words mix the switches and
 * shapes xe knows with arbitrary strings.
 */
import fc from 'fast-check';
import { getBoolParam, parseClientArgs, parseCommandLine, parseRcFile, splitExtraArgs } from '../../src/cli/argv.js';
import { ClientFatal, ParseError, RecordFailure, UnknownCommand, UsageError } from '../../src/cli/cli-errors.js';
import { unexpected, type FuzzTarget } from './fuzz-target.js';

const declared = (e: unknown) => e instanceof UsageError || e instanceof ParseError || e instanceof RecordFailure
  || e instanceof ClientFatal || e instanceof UnknownCommand;

const WORDS = ['-s', '-p', '-u', '-pw', '-pwf', '-h', '--nossl', '--minimal', '--force', '-help', '--help', '--debug', '--',
  'vm-list', 'vm-param-set', 'sr-create', 'patch-pool-apply', 'params=all', 'params=name-label,uuid', 'uuid=', 'name-label=a=b',
  'device-config:path=/tmp', 'other-config:k=v', 'force=true', 'force=yes', 'force=maybe', 'port=443', '=', '==', 'x=', '=x',
  'p=\u0000', 'p=\u001b[31m', 'k:=v', ':', 'host=', 'username=root', 'password=pw', 'server=127.0.0.1', 'port=99999', 'port=-1'];

const word = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...WORDS) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...WORDS), fc.string({ maxLength: 8 })).map(([a, b]) => a + b) });

export const xeTarget: FuzzTarget<null> = {
  name: 'xe-argv',
  about: "xe's grammar: client switches, rc file, XE_EXTRA_ARGS, command and key=value parameters",
  async setup() {
    // parseRcFile reports a bad rc file on stderr, as xe does; thousands of those are noise here.
    process.stderr.write = (() => true) as typeof process.stderr.write;
    return null;
  },
  seeds: async () => [
    '-s\u0000127.0.0.1\u0000-p\u0000443\u0000-u\u0000root\u0000-pw\u0000x\u0000vm-list\u0000params=uuid\u0000--minimal',
    'sr-create\u0000name-label=s\u0000type=file\u0000device-config:path=/srv\u0000shared=false',
    'vm-param-set\u0000uuid=1\u0000other-config:a=b\u0000-h\u0000host\u0000--force',
  ].map((s) => Buffer.from(s)),
  generate: fc.array(word, { maxLength: 10 }).map((ws) => Buffer.from(ws.join('\u0000'))),
  check(input) {
    const words = input.toString('utf8').split('\u0000');
    const [first = '', second = '', ...argv] = words;
    try {
      const client = parseClientArgs(argv, { rcText: first.replaceAll(',', '\n'), extraArgs: second });
      const line = parseCommandLine(client.args);
      for (const [k] of line.params) {
        try { getBoolParam(line.params, k); } catch (e) { if (!declared(e)) throw e; }
      }
      splitExtraArgs(words.join(','));
      parseRcFile(words.join('\n'));
    } catch (e) {
      if (!declared(e)) throw unexpected('xe argv', e);
    }
  },
};
