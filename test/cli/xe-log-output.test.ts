/**
 * xe's `log-get-keys`, `log-set-output` and `log-reopen` against a real Islet server: the
 * keys the toolstack logs under; every key, then one key, sent to a file in the host's log
 * directory (a failed login's line lands there under `[session]`), to nil (the line stays in
 * `log-get` only) and from a level up; the file moved away as logrotate does and
 * `log-reopen` starting a new one; one key to syslog through a datagram socket a python3
 * listener holds (the priority carries the facility and level), refused once it is gone;
 * and the outputs a client may not ask for — a file outside the log directory, `..`, a
 * symbolic link planted in the directory, a FIFO, an unknown output, key or level — each
 * refused with xe's text of VALUE_NOT_SUPPORTED, nothing created or written outside.
 * Needs `npm run build` and python3.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type IsletProcess, startIslet } from '../helpers/islet-server.js';
import { runXe, xeConnection, type XeRun } from '../helpers/xe.js';

const PW = 'xe-log-pw';

/** Waits until `check` returns a value, failing with `what` after 20 s. */
async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const SYSLOG_LISTENER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('bound', flush=True)
while True:
    print(s.recv(65536).decode(errors='replace'), flush=True)
`;

describe('xe log-set-output, log-get-keys, log-reopen', () => {
  let islet: IsletProcess;
  let work: string;
  let logDir: string;
  let syslogSocket: string;
  let listener: ChildProcess | undefined;
  let syslogText = '';

  const xe = (args: string[], password = PW): Promise<XeRun> =>
    runXe([...xeConnection({ port: islet.port, password, home: work }), ...args], { home: work });
  const ok = async (...args: string[]) => {
    const r = await xe(args);
    assert.equal(r.code, 0, `xe ${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  const refused = async (reason: RegExp, ...args: string[]) => {
    const r = await xe(args);
    assert.notEqual(r.code, 0, `xe ${args.join(' ')} succeeded`);
    assert.match(r.err, /not supported by this implementation/, r.err);
    assert.match(r.err, reason, r.err);
  };
  const read = (name: string) => readFile(join(logDir, name), 'utf8').catch(() => '');
  const failLogin = async () => assert.notEqual((await xe(['vm-list'], 'wrong password')).code, 0);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'xe-log-'));
    syslogSocket = join(work, 'syslog.sock');
    islet = await startIslet({ rootPassword: PW, args: ['--spawn-hypervisor', 'false'], env: { ISLET_SYSLOG_SOCKET: syslogSocket } });
    logDir = join(islet.dataDir, 'logs');
  });
  after(async () => {
    listener?.kill();
    await islet?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('log-get-keys lists the keys the toolstack logs under', async () => {
    const keys = (await ok('log-get-keys')).trim().split('\n');
    for (const k of ['http', 'nbd', 'pool', 'session', 'storage', 'xapi']) assert.ok(keys.includes(k), `${k} in ${keys.join(',')}`);
    assert.deepEqual(keys, [...keys].sort());
    assert.equal((await ok('log-get-keys', '--minimal')).trim(), keys.join(','));
  });

  it('sends every key to a file in the log directory, then one key elsewhere, then from a level up', async () => {
    await ok('log-set-output', 'output=file:toolstack.log');
    assert.match(await read('toolstack.log'), /^\S+Z info \[xapi\] log output of every key: file:toolstack\.log$/m);
    await failLogin();
    await until('the failed login in toolstack.log', async () => (/ \[session\] login: 1 failed attempt/.test(await read('toolstack.log')) ? true : undefined));
    assert.ok(!islet.stderr().includes('login: 1 failed attempt'), 'the line went to the file, not to stderr');

    // One key to nil: its lines stay in the recent log only.
    // (A login that succeeds in between starts the count of failures again.)
    await ok('log-set-output', 'output=nil', 'key=session');
    const failures = (text: string) => text.split('\n').filter((l) => /login: \d+ failed attempt/.test(l)).length;
    const seen = failures(await ok('log-get'));
    const inFile = failures(await read('toolstack.log'));
    await failLogin();
    await until('the second failed login in log-get', async () => (failures(await ok('log-get')) > seen ? true : undefined));
    assert.equal(failures(await read('toolstack.log')), inFile, 'key session sent to nil');

    // From a level up: the info line announcing the change is below error, so not written.
    await ok('log-set-output', 'output=file:errors.log', 'key=xapi', 'level=error');
    assert.equal(await read('errors.log'), '');
    await ok('log-set-output', 'output=file:errors.log', 'key=xapi', 'level=info');
    assert.match(await read('errors.log'), /info \[xapi\] log output of key xapi from level info up: file:errors\.log/);

    // A key back to stderr, with the absolute form of a file name for another.
    await ok('log-set-output', `output=file:${join(logDir, 'session.log')}`, 'key=session');
    assert.match(await read('session.log'), /\[session\] log output of key session: file:/);
    await ok('log-set-output', 'output=stderr');
    await until('the announcement on stderr', async () => (islet.stderr().includes('log output of every key: stderr') ? true : undefined));
  });

  it('log-reopen starts new files after logrotate moved them', async () => {
    await ok('log-set-output', 'output=file:toolstack.log');
    await rename(join(logDir, 'toolstack.log'), join(logDir, 'toolstack.log.1'));
    await ok('log-reopen');
    assert.match(await read('toolstack.log'), /info \[xapi\] log files reopened$/m);
    assert.ok(!(await read('toolstack.log.1')).includes('log files reopened'), 'the rotated file no longer written');
    await ok('log-set-output', 'output=stderr');
  });

  it('refuses files outside the log directory, links, FIFOs and unknown outputs, keys and levels', async () => {
    const outside = join(work, 'outside.log');
    await refused(/log directory/, 'log-set-output', `output=file:${outside}`);
    await refused(/log directory/, 'log-set-output', 'output=file:../outside.log');
    await refused(/log directory/, 'log-set-output', 'output=file:sub/x.log');
    assert.ok(!existsSync(outside), 'nothing created outside');
    await writeFile(outside, 'precious\n');
    await symlink(outside, join(logDir, 'planted.log'));
    await refused(/symbolic link/, 'log-set-output', 'output=file:planted.log');
    assert.equal(await readFile(outside, 'utf8'), 'precious\n');
    const fifo = spawn('mkfifo', [join(logDir, 'pipe.log')]);
    await new Promise((r) => fifo.once('close', r));
    await refused(/not a regular file/, 'log-set-output', 'output=file:pipe.log');
    await refused(/one of nil, stderr/, 'log-set-output', 'output=tcp:1.2.3.4');
    await refused(/not a logging key/, 'log-set-output', 'output=nil', 'key=nosuch');
    await refused(/one of debug, info, warn, error/, 'log-set-output', 'output=nil', 'level=loud');
    await refused(/unknown syslog facility/, 'log-set-output', 'output=syslog:nowhere');
    // The refusals changed nothing: stderr still gets the lines.
    await ok('log-reopen');
    await until('a line on stderr', async () => (islet.stderr().split('every key: stderr').pop()!.includes('log files reopened') ? true : undefined));
  });

  it('sends a key to syslog with its facility and level, and refuses syslog with no socket', async () => {
    listener = spawn('python3', ['-c', SYSLOG_LISTENER, syslogSocket], { stdio: ['ignore', 'pipe', 'inherit'] });
    listener.stdout!.on('data', (d: Buffer) => { syslogText += d.toString(); });
    await until('the syslog listener', async () => (syslogText.includes('bound') ? true : undefined));
    await ok('log-set-output', 'output=syslog:local3', 'key=session');
    // local3 (19) * 8 + info (6) = 158
    await until('the announcement on syslog', async () => (/<158>.*islet\[\d+\]: \[session\] log output of key session: syslog:local3/.test(syslogText) ? true : undefined));
    await ok('log-set-output', 'output=stderr', 'key=session');
    listener.kill();
    await rm(syslogSocket, { force: true });
    await refused(/no syslog socket at/, 'log-set-output', 'output=syslog');
  });
});
