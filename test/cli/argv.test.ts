/**
 * xe's two-layer grammar: the thin client's connection settings (command line over
 * XE_EXTRA_ARGS over ~/.xe) and the command's own `k=v` words.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  getBoolParam, getParam, parseClientArgs, parseCommandLine, parseRcFile, splitExtraArgs,
} from '../../src/cli/argv.js';
import { ParseError, RecordFailure, UsageError } from '../../src/cli/cli-errors.js';
import { serverUrl } from '../../src/cli/main.js';

describe('parseClientArgs', () => {
  it('defaults to root@127.0.0.1 with TLS and no port', () => {
    const { conn, args } = parseClientArgs(['host-list']);
    assert.equal(conn.server, '127.0.0.1');
    assert.equal(conn.username, 'root');
    assert.equal(conn.port, undefined);
    assert.equal(conn.nossl, false);
    assert.deepEqual(args, ['host-list']);
  });

  it('takes -s -p -u -pw --nossl anywhere, leaving the command words in order', () => {
    const { conn, args } = parseClientArgs(['-s', 'h1', 'vm-list', '-p', '8443', 'name-label=a=b', '-u', 'bob', '-pw', 's3', '--nossl', '--minimal']);
    assert.deepEqual([conn.server, conn.port, conn.username, conn.password, conn.nossl], ['h1', 8443, 'bob', 's3', true]);
    assert.deepEqual(args, ['vm-list', 'name-label=a=b', '--minimal']);
  });

  it('-h is the server too, and server=/port=/username=/password= words are settings', () => {
    const { conn, args } = parseClientArgs(['pool-list', '-h', 'h2', 'port=99', 'username=u', 'password=p', 'params=all']);
    assert.deepEqual([conn.server, conn.port, conn.username, conn.password], ['h2', 99, 'u', 'p']);
    assert.deepEqual(args, ['pool-list', 'params=all']);
  });

  it('rejects a bad port with the usage', () => {
    assert.throws(() => parseClientArgs(['-p', 'x', 'host-list']), (e) => e instanceof UsageError && /Port number/.test(e.note));
    assert.throws(() => parseClientArgs(['-p', '70000', 'host-list']), UsageError);
  });

  it('precedence: command line over XE_EXTRA_ARGS over ~/.xe; other rc words go to the command', () => {
    const rcText = 'server=rc-host\nport=1\nusername=rcuser\n\nminimal=true\n';
    const r1 = parseClientArgs(['host-list'], { rcText, extraArgs: 'port=2,password=extra' });
    assert.deepEqual([r1.conn.server, r1.conn.port, r1.conn.username, r1.conn.password], ['rc-host', 2, 'rcuser', 'extra']);
    assert.deepEqual(r1.args, ['host-list', 'minimal=true']);
    const r2 = parseClientArgs(['-p', '3', '-s', 'cli-host', 'host-list'], { rcText, extraArgs: 'port=2' });
    assert.deepEqual([r2.conn.server, r2.conn.port], ['cli-host', 3]);
  });

  it('notices --help and -help', () => {
    assert.equal(parseClientArgs(['vm-list', '--help']).help, true);
    assert.equal(parseClientArgs(['-help']).help, true);
    assert.equal(parseClientArgs(['vm-list']).help, false);
  });
});

describe('rc file and XE_EXTRA_ARGS', () => {
  it('reads key=value lines, splitting at the first =, skipping blank lines', () => {
    assert.deepEqual(parseRcFile('server=a\n\npassword=x=y\n'), [['server', 'a'], ['password', 'x=y']]);
  });

  it('ignores the whole rc file when a line has no =', () => {
    const old = process.stderr.write;
    let said = '';
    process.stderr.write = ((s: string) => { said += s; return true; }) as typeof process.stderr.write;
    try {
      assert.deepEqual(parseRcFile('server=a\nbogus\n'), []);
    } finally {
      process.stderr.write = old;
    }
    assert.equal(said, 'Error parsing rc file. No defaults loaded\n');
  });

  it('splits XE_EXTRA_ARGS at unescaped commas, dropping backslashes', () => {
    assert.deepEqual(splitExtraArgs('server=a,password=x\\,y,,port=1'), ['server=a', 'password=x,y', 'port=1']);
    assert.deepEqual(splitExtraArgs(''), []);
  });
});

describe('parseCommandLine', () => {
  it('splits at the first =, keeps map:key=v whole, turns --x into x=true', () => {
    const { cmd, params } = parseCommandLine(['vm-param-set', 'uuid=u', 'other-config:k=v=w', 'name-label=', '--force', 'flag']);
    assert.equal(cmd, 'vm-param-set');
    assert.deepEqual(params, [['uuid', 'u'], ['other-config:k', 'v=w'], ['name-label', ''], ['force', 'true'], ['flag', '']]);
  });

  it('finds the first of repeated parameters, as xapi does', () => {
    const { params } = parseCommandLine(['x', 'a=1', 'a=2']);
    assert.equal(getParam(params, 'a'), '1');
    assert.equal(getParam(params, 'b'), undefined);
  });

  it('fails on a missing command name and on unknown switches', () => {
    assert.throws(() => parseCommandLine(['uuid=x']), ParseError);
    assert.throws(() => parseCommandLine(['vm-list', '-z', 'q']), ParseError);
    assert.throws(() => parseCommandLine([]), UsageError);
  });

  it('reads booleans the way xe does', () => {
    const { params } = parseCommandLine(['x', '--multiple', 'force=no', 'live=maybe']);
    assert.equal(getBoolParam(params, 'multiple'), true);
    assert.equal(getBoolParam(params, 'force'), false);
    assert.equal(getBoolParam(params, 'absent'), false);
    assert.throws(() => getBoolParam(params, 'live'), RecordFailure);
  });
});

describe('serverUrl', () => {
  const conn = (over: object) => ({ ...parseClientArgs(['x']).conn, ...over });
  it('uses TLS on 443 by default, plain HTTP on 80 with --nossl', () => {
    assert.equal(serverUrl(conn({ server: 'xs1' })), 'https://xs1:443');
    assert.equal(serverUrl(conn({ server: 'xs1', nossl: true })), 'http://xs1:80');
    assert.equal(serverUrl(conn({ server: 'xs1', port: 8443 })), 'https://xs1:8443');
  });

  it('never uses TLS to 127.0.0.1, as xe on a host, and brackets IPv6', () => {
    assert.equal(serverUrl(conn({ server: '127.0.0.1', port: 9 })), 'http://127.0.0.1:9');
    assert.equal(serverUrl(conn({ server: '::1', port: 9 })), 'https://[::1]:9');
  });
});
