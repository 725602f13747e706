/**
 * The hypervisor simulator on its own: its arguments, the in-process host against the
 * port contract, the process's authentication, what survives a toolstack restart and what
 * a reboot ends, simulated guest behaviour, and live migration between real simulator
 * processes (rate-limited and not, interrupted from either side).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { DomainInfo } from '../../src/core/ports/hypervisor.js';
import { RpcConnection } from '../../src/hypervisor/rpc-connection.js';
import { SimHypervisorClient } from '../../src/hypervisor/sim-hypervisor-client.js';
import { parseSimArgs, parseSize } from '../../sims/hypervisor/hypervisor-sim.js';
import { SimRpcServer } from '../../sims/hypervisor/rpc-server.js';
import { SimHost } from '../../sims/hypervisor/sim-host.js';
import { GiB, MiB, startHypervisorSim, type SimProcess } from '../helpers/hypervisor-sim.js';
import { recordEvents, rejectsWith, runHypervisorContract } from '../hypervisor/hypervisor.contract.js';

const vm = () => randomUUID();

/** Polls until `check` holds; the test's own timeout bounds it. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(10);
}

async function find(hv: SimHypervisorClient, u: string): Promise<DomainInfo | undefined> {
  return (await hv.list()).find((d) => d.vmUuid === u);
}

describe('hypervisor-sim arguments', () => {
  it('reads sizes in bytes or with binary suffixes', () => {
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseSize('512M'), 512 * MiB);
    assert.equal(parseSize('16G'), 16 * GiB);
    assert.equal(parseSize('2GiB'), 2 * GiB);
    assert.throws(() => parseSize('lots'));
  });

  it('needs a state directory and takes defaults for the rest', () => {
    assert.throws(() => parseSimArgs([]), /state-dir/);
    const a = parseSimArgs(['--state-dir', '/tmp/x', '--memory', '8G', '--migration-rate', '100', '--boot-time', '1700000000']);
    assert.equal(a.memory, 8 * GiB);
    assert.equal(a.migrationRateMiBs, 100);
    assert.equal(a.bootTime, 1700000000);
    assert.equal(a.listen, '127.0.0.1:0');
    // Without --memory the simulated host has the machine's memory, as Xen reports it.
    assert.equal(parseSimArgs(['--state-dir', '/tmp/x']).memory, totalmem());
    assert.throws(() => parseSimArgs(['--state-dir', '/tmp/x', '--cpus', '0']), /cpus/);
    assert.throws(() => parseSimArgs(['--state-dir', '/tmp/x', '--bogus']));
  });
});

runHypervisorContract('in-process SimHost', async () => {
  const opts = { memory: 4 * GiB, cpus: 4, overheadPerDomain: 8 * MiB, migrationRateMiBs: 0 };
  const [a, b] = [new SimHost(opts), new SimHost(opts)];
  const server = new SimRpcServer(b, 'peer-secret');
  const addr = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    hv: a,
    peer: { hv: b, address: '127.0.0.1', port: 'port' in addr ? addr.port : 0 },
    stop: async () => { await server.close(); await a.close(); await b.close(); },
  };
});

describe('hypervisor-sim process', { timeout: 60_000 }, () => {
  let sim: SimProcess;
  before(async () => { sim = await startHypervisorSim({ memory: 2 * GiB, cpus: 6, overheadPerDomain: 16 * MiB }); });
  after(async () => sim?.stop());

  it('accounts host memory with its per-domain overhead', async () => {
    const hv = await sim.connect();
    const i = await hv.info();
    assert.equal(i.memoryTotal, 2 * GiB);
    assert.equal(i.memoryOverheadPerDomain, 16 * MiB);
    assert.equal(i.cpus, 6);
    const u = vm();
    await hv.create({ vmUuid: u, memory: 100 * MiB, vcpus: 1 });
    assert.equal((await hv.info()).memoryFree, 2 * GiB - 116 * MiB);
    await hv.destroy(u);
    await hv.close();
  });

  it('records its address, keeps its secret private and refuses clients without it', async () => {
    assert.equal((await readFile(join(sim.stateDir, 'address'), 'utf8')).trim(), sim.address);
    assert.equal((await stat(join(sim.stateDir, 'secret'))).mode & 0o777, 0o600);
    await rejectsWith(SimHypervisorClient.connect({ address: sim.address, secret: 'guess' }), 'AUTH_FAILED');
    const raw = await RpcConnection.open(sim.address);
    await rejectsWith(raw.call('list'), 'AUTH_FAILED');
    await raw.close();
  });

  it('keeps domains when the toolstack disconnects and reconnects', async () => {
    const first = await sim.connect();
    const u = vm();
    const d = await first.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
    await first.close();
    await rejectsWith(first.list(), 'UNAVAILABLE');
    const second = await sim.connect();
    assert.equal(second.bootId, first.bootId);
    assert.deepEqual(await find(second, u), d);
    await second.destroy(u);
    await second.close();
  });

  it('loses every domain when the host reboots, and says so with a new boot id', async () => {
    const hv = await sim.connect();
    let lost!: (why: string) => void;
    const disconnected = new Promise<string>((resolve) => { lost = resolve; });
    await SimHypervisorClient.connect({ stateDir: sim.stateDir, onDisconnect: (why) => lost(why) });
    await hv.create({ vmUuid: vm(), memory: 64 * MiB, vcpus: 1 });
    const { bootId } = await hv.info();
    sim = await sim.restart();
    assert.match(await disconnected, /lost/);
    await rejectsWith(hv.list(), 'UNAVAILABLE');
    const again = await sim.connect();
    const i = await again.info();
    assert.notEqual(i.bootId, bootId);
    assert.deepEqual(await again.list(), []);
    assert.equal(i.memoryFree, i.memoryTotal);
    await again.close();
  });

  it('fails UNAVAILABLE when the simulator is not there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'islet-hv-none-'));
    await rejectsWith(SimHypervisorClient.connect({ stateDir: dir }), 'UNAVAILABLE');
    await rejectsWith(SimHypervisorClient.connect({ address: '127.0.0.1:1', secret: 'x' }), 'UNAVAILABLE');
    await rm(dir, { recursive: true });
  });

  describe('simulated guests', () => {
    let hv: SimHypervisorClient;
    before(async () => { hv = await sim.connect(); });
    after(async () => hv?.close());

    it('cannot be asked anything without PV drivers, but can be hard-stopped', async () => {
      const u = vm();
      await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
      await hv.configureGuest(u, { pvDrivers: false });
      await rejectsWith(hv.shutdown(u, { timeoutMs: 1000 }), 'NO_GUEST_AGENT');
      await rejectsWith(hv.reboot(u, { clean: true }), 'NO_GUEST_AGENT');
      await rejectsWith(hv.suspend(u, { path: join(sim.stateDir, 'x.img') }), 'NO_GUEST_AGENT');
      assert.equal((await find(hv, u))?.state, 'running');
      await hv.destroy(u);
    });

    it('lets a deaf guest run on after its shutdown request lapses', async () => {
      const u = vm();
      await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
      await hv.configureGuest(u, { acknowledges: false });
      await rejectsWith(hv.shutdown(u, { timeoutMs: 20 }), 'NOT_ACKNOWLEDGED');
      assert.equal((await find(hv, u))?.state, 'running');
      await hv.destroy(u);
    });

    it('waits for a slow guest, and when the wait is too short the guest still halts later', async () => {
      const u = vm();
      await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
      await hv.configureGuest(u, { shutdownMs: 30 });
      const rebooted = await hv.reboot(u, { clean: true, timeoutMs: 10_000 });
      assert.equal(rebooted.state, 'running');
      const events = await recordEvents(hv);
      await hv.configureGuest(u, { shutdownMs: 200 });
      const free = (await hv.info()).memoryFree;
      await rejectsWith(hv.shutdown(u, { timeoutMs: 10 }), 'TIMEOUT');
      const halted = await events.next((e) => e.vmUuid === u && e.kind === 'guest-shutdown');
      assert.equal(halted.domain?.state, 'shutdown');
      assert.equal(halted.domain?.shutdownReason, 'poweroff');
      assert.equal((await hv.info()).memoryFree, free, 'a shut-down domain holds its memory until destroyed');
      await hv.destroy(u);
      assert.ok((await hv.info()).memoryFree > free);
      events.stop();
    });

    it('lets a hard stop cut a clean one short, and refuses other operations meanwhile', async () => {
      const u = vm();
      await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
      await hv.configureGuest(u, { shutdownMs: 60_000 });
      const clean = hv.shutdown(u, { timeoutMs: 60_000 });
      await rejectsWith(hv.pause(u), 'BUSY');
      await hv.destroy(u);
      await rejectsWith(clean, 'CANCELLED');
      assert.equal(await find(hv, u), undefined);

      const w = vm();
      const d0 = await hv.create({ vmUuid: w, memory: 64 * MiB, vcpus: 1 });
      await hv.configureGuest(w, { shutdownMs: 60_000 });
      const cleanReboot = hv.reboot(w, { clean: true, timeoutMs: 60_000 });
      const hard = await hv.reboot(w, { clean: false });
      await rejectsWith(cleanReboot, 'CANCELLED');
      assert.equal(hard.state, 'running');
      assert.notEqual(hard.guestBootId, d0.guestBootId);
      await hv.destroy(w);
    });

    it('reports a guest that halts, reboots or crashes by itself, and leaves the rest to the toolstack', async () => {
      const u = vm();
      await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
      const events = await recordEvents(hv);
      const crashed = await hv.guestShutdown(u, 'crash');
      assert.equal(crashed.state, 'shutdown');
      assert.equal(crashed.shutdownReason, 'crash');
      const e = await events.next((x) => x.vmUuid === u && x.kind === 'guest-shutdown');
      assert.equal(e.domain?.shutdownReason, 'crash');
      await rejectsWith(hv.pause(u), 'BAD_STATE');
      await rejectsWith(hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 }), 'ALREADY_EXISTS');
      // actions_after_crash = restart: the toolstack rebuilds it.
      const back = await hv.reboot(u, { clean: false });
      assert.equal(back.state, 'running');
      assert.equal(back.shutdownReason, undefined);
      await hv.pause(u);
      await rejectsWith(hv.guestShutdown(u, 'poweroff'), 'BAD_STATE');
      await hv.unpause(u);
      await rejectsWith(hv.guestShutdown(u, 'nap' as never), 'INVALID_ARGUMENT');
      assert.equal((await hv.guestShutdown(u, 'reboot')).shutdownReason, 'reboot');
      await hv.destroy(u);
      events.stop();
    });
  });
});

describe('hypervisor-sim console ring (dmesg)', () => {
  it('starts with the boot banner, logs each domain change, and keeps only the newest 16 KiB', async () => {
    const h = new SimHost({ memory: 4 * GiB, cpus: 2, overheadPerDomain: 8 * MiB, migrationRateMiBs: 0 });
    const first = await h.dmesg();
    assert.match(first, /^\(XEN\) \[\s*\d+\.\d{6}\] Xen /);
    assert.match(first, /System RAM: 4096MB/);
    const u = vm();
    const d = await h.create({ vmUuid: u, memory: 64 * MiB, vcpus: 2 });
    await h.destroy(u);
    const text = await h.dmesg();
    assert.match(text, new RegExp(`d${d.domid}: created \\(VM ${u}, 64 MiB, 2 vCPUs\\)`));
    assert.match(text, new RegExp(`d${d.domid}: destroyed \\(VM ${u}\\)`));
    for (let i = 0; i < 300; i++) {
      const w = vm();
      await h.create({ vmUuid: w, memory: MiB, vcpus: 1 });
      await h.destroy(w);
    }
    const full = await h.dmesg();
    assert.ok(full.length <= 16 * 1024, `ring holds ${full.length} characters`);
    assert.doesNotMatch(full, /System RAM/, 'the oldest lines are overwritten');
    assert.ok(full.endsWith('\n'));
  });
});

describe('hypervisor-sim over a unix socket', () => {
  it('serves the same protocol', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'islet-hv-unix-'));
    const host = new SimHost({ memory: GiB, cpus: 1, overheadPerDomain: 0, migrationRateMiBs: 0 });
    const server = new SimRpcServer(host, 's3cret');
    await server.listen({ path: join(dir, 'hv.sock') });
    const hv = await SimHypervisorClient.connect({ address: server.address, secret: 's3cret' });
    const u = vm();
    await hv.create({ vmUuid: u, memory: MiB, vcpus: 1 });
    assert.deepEqual((await hv.list()).map((d) => d.vmUuid), [u]);
    await hv.close();
    await server.close();
    await host.close();
    await rm(dir, { recursive: true });
  });
});

describe('live migration between simulator processes', { timeout: 60_000 }, () => {
  const RATE = 256;
  let fast: SimProcess;
  let slow: SimProcess;
  let f: SimHypervisorClient;
  let s: SimHypervisorClient;
  before(async () => {
    [fast, slow] = await Promise.all([startHypervisorSim(), startHypervisorSim({ migrationRateMiBs: RATE })]);
    [f, s] = await Promise.all([fast.connect(), slow.connect()]);
  });
  after(async () => {
    await Promise.all([f?.close(), s?.close()]);
    await Promise.all([fast?.stop(), slow?.stop()]);
  });

  const to = async (p: SimProcess, hv: SimHypervisorClient, u: string) =>
    ({ address: p.host, port: p.port, token: await hv.prepareReceive(u) });

  async function timedMigration(memory: number): Promise<{ ms: number; progress: number[] }> {
    const u = vm();
    await s.create({ vmUuid: u, memory, vcpus: 1 });
    const progress: number[] = [];
    const t0 = performance.now();
    await s.migrateSend(u, await to(fast, f, u), { onProgress: (x) => progress.push(x) });
    const ms = performance.now() - t0;
    await f.destroy(u);
    return { ms, progress };
  }

  it('copies at once when the rate is 0', async () => {
    const u = vm();
    await f.create({ vmUuid: u, memory: GiB, vcpus: 1 });
    const progress: number[] = [];
    await f.migrateSend(u, await to(slow, s, u), { onProgress: (x) => progress.push(x) });
    assert.deepEqual(progress, [1]);
    assert.equal((await find(s, u))?.state, 'running');
    await s.destroy(u);
  });

  it('takes longer, with more progress reports, the more memory there is to copy', async () => {
    const small = await timedMigration(32 * MiB);
    const big = await timedMigration(128 * MiB);
    assert.ok(big.ms > small.ms, `${big.ms} ms for 128 MiB vs ${small.ms} ms for 32 MiB`);
    assert.ok(big.progress.length > small.progress.length);
    for (const p of [small.progress, big.progress]) {
      assert.equal(p.at(-1), 1);
      assert.deepEqual(p, [...p].sort((a, b) => a - b));
    }
  });

  it('keeps the domain running on the source until the destination runs it', async () => {
    const u = vm();
    const d0 = await s.create({ vmUuid: u, memory: 128 * MiB, vcpus: 1 });
    let midway!: () => void;
    const copying = new Promise<void>((r) => { midway = r; });
    const done = s.migrateSend(u, await to(fast, f, u), { onProgress: (x) => { if (x < 1) midway(); } });
    await copying;
    assert.deepEqual(await find(s, u), d0);
    assert.equal(await find(f, u), undefined);
    await rejectsWith(s.pause(u), 'BUSY');
    await done;
    assert.equal(await find(s, u), undefined);
    assert.equal((await find(f, u))?.guestBootId, d0.guestBootId);
    await f.destroy(u);
  });

  it('fails when the destination dies mid-copy, with the domain still running on the source', async () => {
    const dead = await startHypervisorSim();
    try {
      const hv = await dead.connect();
      const u = vm();
      const d0 = await s.create({ vmUuid: u, memory: 256 * MiB, vcpus: 1 });
      const free = (await s.info()).memoryFree;
      let midway!: () => void;
      const copying = new Promise<void>((r) => { midway = r; });
      const done = s.migrateSend(u, await to(dead, hv, u), { onProgress: (x) => { if (x < 1) midway(); } });
      await copying;
      await dead.kill9();
      await rejectsWith(done, 'MIGRATION_FAILED');
      assert.deepEqual(await find(s, u), d0);
      assert.equal((await s.info()).memoryFree, free);
      await s.destroy(u);
      await hv.close();
    } finally {
      await dead.stop();
    }
  });

  it('is cancelled by a hard stop on the source, and the destination keeps nothing', async () => {
    const u = vm();
    await s.create({ vmUuid: u, memory: 256 * MiB, vcpus: 1 });
    const destFree = (await f.info()).memoryFree;
    let midway!: () => void;
    const copying = new Promise<void>((r) => { midway = r; });
    const done = s.migrateSend(u, await to(fast, f, u), { onProgress: (x) => { if (x < 1) midway(); } });
    await copying;
    await s.destroy(u);
    await rejectsWith(done, 'CANCELLED');
    assert.equal(await find(f, u), undefined);
    await eventually(async () => (await f.info()).memoryFree === destFree);
  });
});
