/**
 * xe sends its login before it has looked the command up, so the server's part of the login
 * runs while xe builds the command's fields and loads its module. A command xe then refuses
 * (unknown, or a required parameter missing) is still reported as before, and the session
 * that login opened is logged out; when the login never answers, the refusal is printed
 * anyway, after a bounded wait. A loopback JSON-RPC server records what xe sends.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runXe } from '../helpers/xe.js';
import { loginFor, findCommand, allCommands } from '../../src/cli/command-table.js';

describe('xe logs in before looking its command up', () => {
  let server: http.Server;
  let port: number;
  let home: string;
  let calls: string[] = [];
  /** When set, the login is never answered. */
  let holdLogin = false;
  const held: http.ServerResponse[] = [];

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'islet-xe-early-login-'));
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        const { method, id } = JSON.parse(body) as { method: string; id: number };
        calls.push(method);
        if (method === 'session.login_with_password' && holdLogin) {
          held.push(res);
          return;
        }
        const result = method === 'session.login_with_password' ? 'OpaqueRef:early-login-session' : method === 'host.get_all_records_where' ? {} : '';
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ jsonrpc: '2.0', result, id }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(home, { recursive: true, force: true });
  });
  beforeEach(() => { calls = []; holdLogin = false; });

  const xe = (...args: string[]) => runXe(['-s', '127.0.0.1', '-p', String(port), '-pw', 'pw', ...args], { home, timeoutMs: 30_000 });

  it('runs a command as before: login, its calls, logout', async () => {
    const r = await xe('host-list', '--minimal');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(calls, ['session.login_with_password', 'host.get_all_records_where', 'session.logout']);
  });

  it('reports an unknown command or a missing parameter as before, and ends the session its login opened', async () => {
    const unknown = await xe('vm-no-such-command');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /^Unknown command: vm-no-such-command$/m);
    assert.deepEqual(calls, ['session.login_with_password', 'session.logout']);
    calls = [];
    const missing = await xe('vm-param-get', 'uuid=x');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^Required parameter not found: param-name$/m);
    assert.deepEqual(calls, ['session.login_with_password', 'session.logout']);
  });

  it('prints the refusal even when the login never answers', async () => {
    holdLogin = true;
    const r = await xe('vm-no-such-command');
    assert.equal(r.code, 1);
    assert.match(r.err, /^Unknown command: vm-no-such-command$/m);
    assert.deepEqual(calls, ['session.login_with_password']);
  });

  it('knows how each command logs in from the fixed table, as the full lookup says', async () => {
    const all = await allCommands();
    const seen = { pool: 0, local: 0, none: 0 };
    for (const c of all) {
      const flags = (await findCommand(c.name))?.flags ?? [];
      const kind = flags.includes('credentials') ? 'none' : flags.includes('local') ? 'local' : 'pool';
      assert.equal(loginFor(c.name), kind, c.name);
      seen[kind]++;
    }
    assert.ok(seen.local > 0 && seen.none > 0 && seen.pool > 0, JSON.stringify(seen));
    assert.equal(loginFor('no-such-command'), 'pool');
  });
});
