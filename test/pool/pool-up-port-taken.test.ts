/**
 * A pool whose hosts each have their own address (`--addresses`) serves every host on the
 * one port given: clients go to a host's address on that port. When that port is already
 * taken on one of the addresses, `islet pool up` must fail, naming the address and port,
 * and leave no process running, rather than let the host listen on some other port. The
 * port is held here on 127.0.0.2 (the loopback network answers all of 127/8); the same
 * supervisor code binds the port for every host, so the held-socket check is tested too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bindListenSocket } from '../../src/pool/supervisor/held-listen-socket.js';
import { SUPERVISOR_FILE } from '../../src/pool/supervisor/supervisor-client.js';
import { repoRoot } from '../helpers/repo-root.js';

async function hold(host: string, port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as { port: number }).port };
}

const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

/** Processes whose command line mentions `dir` (what `pool up` started for that pool). */
function processesUsing(dir: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) out.push(Number(p));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

describe('a pool host\'s port already in use', () => {
  it('the supervisor\'s bind of a taken port fails, naming address and port, instead of handing on an unbound socket', async () => {
    const taken = await hold('127.0.0.1');
    try {
      assert.throws(() => bindListenSocket('127.0.0.1', taken.port),
        (e: Error & { code?: string }) => e.message.includes(`127.0.0.1:${taken.port}`) && e.code === 'EADDRINUSE');
      // A free port still binds, and port 0 gets one of the system's choosing.
      const any = bindListenSocket('127.0.0.1', 0);
      assert.ok(any.port > 0);
      any.close();
    } finally {
      await close(taken.server);
    }
  });

  it('islet pool up --addresses fails, names the address:port, and leaves nothing running', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'islet-port-taken-'));
    // Free on 127.0.0.1, held on 127.0.0.2: host1's address.
    const mine = await hold('127.0.0.1');
    const port = mine.port;
    await close(mine.server);
    const taken = await hold('127.0.0.2', port);
    const sup = spawn(process.execPath, [
      join(repoRoot(), 'bin', 'islet'), 'pool', 'up', '--hosts', '2', '--data-dir', dir, '--base-port', String(port),
      '--root-password', 'port-taken-pw', '--addresses', '127.0.0.1,127.0.0.2',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    sup.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    sup.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`pool up did not fail within 60 s although 127.0.0.2:${port} is taken:\n${out}\n${err}`)), 60_000);
        sup.once('exit', (c) => { clearTimeout(t); resolve(c); });
      });
      assert.notEqual(code, 0, `pool up exited 0:\n${out}\n${err}`);
      assert.match(err, new RegExp(`host1: cannot listen on 127\\.0\\.0\\.2:${port}: .*in use`), err);
      assert.doesNotMatch(out, /^ready /m, 'no host was reported ready');
      assert.deepEqual(processesUsing(dir), [], 'no process of the pool is left running');
      assert.equal(await accepts('127.0.0.1', port), false, `nothing listens on host0's 127.0.0.1:${port}`);
      assert.equal(existsSync(join(dir, SUPERVISOR_FILE)), false, 'no supervisor file is left behind');
    } finally {
      if (sup.exitCode === null && sup.signalCode === null) sup.kill('SIGKILL');
      for (const pid of processesUsing(dir)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      await close(taken.server);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
