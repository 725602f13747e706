/**
 * xe logs its session out on the way out but does not wait for the server's answer: a
 * proxy in front of a real server passes every call through and forwards `session.logout`
 * too, but never hands its answer back to xe. xe must still end (with 0), and the session
 * must be gone on the server, so the request left whole before xe exited.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IsletProcess, startIslet } from '../helpers/islet-server.js';
import { runXe } from '../helpers/xe.js';

const PW = 'logout-exit-pw';

async function rpc(url: string, method: string, params: unknown[]): Promise<{ result?: unknown; error?: { message?: string } }> {
  const r = await fetch(`${url}/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }) });
  return (await r.json()) as { result?: unknown; error?: { message?: string } };
}

/** Polls `cond` until it holds; fails naming `what` after 10 s. */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !cond(); waited += 20) {
    if (waited > 10_000) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('xe exit and session.logout', () => {
  let islet: IsletProcess;
  let proxy: http.Server;
  let home: string;
  const held: http.ServerResponse[] = [];
  const sessions: string[] = [];
  let logouts: Array<Promise<unknown>> = [];

  before(async () => {
    islet = await startIslet({ rootPassword: PW, args: ['--spawn-hypervisor', 'false'] });
    home = await mkdtemp(join(tmpdir(), 'xe-logout-home-'));
    proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const call = JSON.parse(body) as { method: string; params: unknown[] };
        const answer = fetch(`${islet.url}${req.url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
          .then(async (r) => ({ status: r.status, text: await r.text() }));
        if (call.method === 'session.logout') {
          // Done on the server, never answered to xe.
          logouts.push(answer);
          held.push(res);
          return;
        }
        void answer.then(({ status, text }) => {
          if (call.method === 'session.login_with_password') sessions.push(String((JSON.parse(text) as { result: unknown }).result));
          res.writeHead(status, { 'content-type': 'application/json' }).end(text);
        }, () => res.destroy());
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  });

  after(async () => {
    for (const res of held) res.destroy();
    proxy?.close();
    await islet?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('ends without the answer to session.logout, and the session is logged out', async () => {
    const port = (proxy.address() as AddressInfo).port;
    logouts = [];
    const r = await runXe(['-s', '127.0.0.1', '-p', String(port), '--nossl', '-pw', PW, 'host-list', '--minimal'], { home, timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out.trim(), /^[0-9a-f-]{36}$/);
    assert.equal(sessions.length, 1, 'xe logged in once through the proxy');
    // The request left before xe exited; the proxy may read it a moment later.
    await waitFor(() => logouts.length === 1, 'the proxy has received the session.logout xe sent');
    const done = await logouts[0]! as { status: number; text: string };
    assert.equal(done.status, 200, done.text);
    const after = await rpc(islet.url, 'session.get_this_host', [sessions[0], sessions[0]]);
    assert.equal(after.error?.message, 'SESSION_INVALID', JSON.stringify(after));
  });
});
