/**
 * When the toolstack starts its own hypervisor simulator: only when none can be there. One
 * that accepts connections but is slow to answer (a loaded machine) is waited for; starting a
 * second one in the same state directory would take over the address file, and the first
 * one's running domains would look gone.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HostHypervisor, PID_FILE } from '../../src/main/hypervisor-process.js';
import { ADDRESS_FILE, SECRET_FILE } from '../../src/hypervisor/sim-protocol.js';

/** Kills a simulator the toolstack may have started, so that a failing run leaves none behind. */
async function killSpawned(dir: string): Promise<void> {
  const pid = Number((await readFile(join(dir, PID_FILE), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(pid) && pid > 0) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

function hostHypervisor(dir: string): HostHypervisor {
  return new HostHypervisor({
    stateDir: dir, spawn: true, listenHost: '127.0.0.1', advertiseHost: () => '127.0.0.1',
    helloTimeoutMs: 200, log: () => undefined,
  });
}

describe('HostHypervisor starts a simulator only when none is there', () => {
  it('a simulator that accepts but has not answered its hello is waited for, not replaced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hv-slow-'));
    const held: Socket[] = [];
    // Accepts and reads, never answers: a simulator too busy to reply in time.
    const silent: Server = createServer((s) => { held.push(s); s.resume(); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const address = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    await writeFile(join(dir, ADDRESS_FILE), `${address}\n`);
    await writeFile(join(dir, SECRET_FILE), 'x'.repeat(64));
    const hv = hostHypervisor(dir);
    try {
      await hv.start(async () => undefined);
      assert.equal(hv.connected, false);
      assert.equal(existsSync(join(dir, PID_FILE)), false, 'no second simulator was started');
      assert.equal((await readFile(join(dir, ADDRESS_FILE), 'utf8')).trim(), address, 'the address file is the slow one\'s still');
      assert.ok(held.length >= 1, 'the toolstack did reach the slow simulator');
    } finally {
      await hv.stop();
      await killSpawned(dir);
      for (const s of held) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an address nobody listens at any more (a crashed simulator) gets a new simulator', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hv-stale-'));
    const gone = createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    const stale = `127.0.0.1:${(gone.address() as { port: number }).port}`;
    await new Promise<void>((r) => gone.close(() => r()));
    await writeFile(join(dir, ADDRESS_FILE), `${stale}\n`);
    const hv = new HostHypervisor({
      stateDir: dir, spawn: true, listenHost: '127.0.0.1', advertiseHost: () => '127.0.0.1', log: () => undefined,
    });
    try {
      await hv.start(async () => undefined);
      assert.equal(hv.connected, true, 'connected to the simulator it started');
      assert.notEqual((await readFile(join(dir, ADDRESS_FILE), 'utf8')).trim(), stale);
    } finally {
      await hv.stop();
      await killSpawned(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
