/**
 * @module
 * The contract every `Hypervisor` adapter and fake passes: domain lifecycle and its power
 * state rules, memory accounting with the per-domain overhead, typed errors, suspend and
 * resume, events, and (when the fixture offers a second host) live migration. Each test
 * uses fresh VM uuids and leaves the host as it found it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  HypervisorError, type DomainEvent, type Hypervisor, type HypervisorErrorCode,
} from '../../src/core/ports/hypervisor.js';

const MiB = 1024 * 1024;

export interface HypervisorFixture {
  readonly hv: Hypervisor;
  /** A second host, for migration: its hypervisor and where its migrations arrive. */
  readonly peer?: { readonly hv: Hypervisor; readonly address: string; readonly port: number };
  stop(): Promise<void>;
}

export async function rejectsWith(p: Promise<unknown>, code: HypervisorErrorCode): Promise<HypervisorError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof HypervisorError, `expected a HypervisorError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

/** Records a hypervisor's events and waits for particular ones. */
export async function recordEvents(hv: Hypervisor): Promise<{
  events: DomainEvent[];
  next(pred: (e: DomainEvent) => boolean): Promise<DomainEvent>;
  stop(): void;
}> {
  const events: DomainEvent[] = [];
  const waiters: Array<{ pred: (e: DomainEvent) => boolean; resolve: (e: DomainEvent) => void }> = [];
  const stop = await hv.watch((e) => {
    events.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(e); }
    }
  });
  return {
    events,
    stop,
    next: (pred) => {
      const seen = events.find(pred);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

export function runHypervisorContract(name: string, make: () => Promise<HypervisorFixture>): void {
  describe(`Hypervisor contract: ${name}`, { timeout: 60_000 }, () => {
    let fx: HypervisorFixture;
    let hv: Hypervisor;
    let dir: string;
    before(async () => {
      fx = await make();
      hv = fx.hv;
      dir = await mkdtemp(join(tmpdir(), 'islet-hv-contract-'));
    });
    after(async () => {
      await fx?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const vm = () => randomUUID();
    const find = async (h: Hypervisor, u: string) => (await h.list()).find((d) => d.vmUuid === u);
    const overhead = async () => (await hv.info()).memoryOverheadPerDomain ?? 0;

    it('describes the host', async () => {
      const i = await hv.info();
      assert.ok(i.memoryTotal > 0 && i.memoryFree <= i.memoryTotal && i.memoryFree >= 0);
      assert.ok(i.cpus >= 1);
      assert.ok(i.bootTime > 0 && i.bootTime <= Date.now() / 1000 + 1);
      assert.equal(typeof i.bootId, 'string');
      assert.ok(i.bootId.length > 0);
    });

    it('creates a running domain that holds its memory plus overhead until destroyed', async () => {
      const before = await hv.info();
      const u = vm();
      const d = await hv.create({ vmUuid: u, memory: 256 * MiB, vcpus: 2 });
      assert.equal(d.state, 'running');
      assert.equal(d.memory, 256 * MiB);
      assert.equal(d.vcpus, 2);
      assert.ok(d.domid > 0);
      assert.ok(Math.abs(d.startedAt - Date.now() / 1000) < 60);
      assert.deepEqual(await find(hv, u), d);
      assert.equal((await hv.info()).memoryFree, before.memoryFree - 256 * MiB - (before.memoryOverheadPerDomain ?? 0));
      await hv.destroy(u);
      assert.equal(await find(hv, u), undefined);
      assert.equal((await hv.info()).memoryFree, before.memoryFree);
    });

    it('gives each new domain a new domid and lists domains in domid order', async () => {
      const [a, b] = [vm(), vm()];
      const da = await hv.create({ vmUuid: a, memory: 64 * MiB, vcpus: 1 });
      const db = await hv.create({ vmUuid: b, memory: 64 * MiB, vcpus: 1 });
      assert.ok(db.domid > da.domid);
      const ids = (await hv.list()).map((d) => d.domid);
      assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
      await hv.destroy(a);
      await hv.destroy(b);
    });

    it('refuses a second domain for the same VM', async () => {
      const u = vm();
      await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
      await rejectsWith(hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 }), 'ALREADY_EXISTS');
      assert.equal((await hv.list()).filter((d) => d.vmUuid === u).length, 1);
      await hv.destroy(u);
    });

    it('refuses to overcommit memory, to the byte, with needed and available', async () => {
      const free = (await hv.info()).memoryFree;
      const oh = await overhead();
      const e = await rejectsWith(hv.create({ vmUuid: vm(), memory: free - oh + 1, vcpus: 1 }), 'NOT_ENOUGH_MEMORY');
      assert.equal(e.details.needed, free + 1);
      assert.equal(e.details.available, free);
      assert.equal((await hv.info()).memoryFree, free);
      const u = vm();
      await hv.create({ vmUuid: u, memory: free - oh, vcpus: 1 });
      assert.equal((await hv.info()).memoryFree, 0);
      await rejectsWith(hv.create({ vmUuid: vm(), memory: MiB, vcpus: 1 }), 'NOT_ENOUGH_MEMORY');
      await hv.destroy(u);
      assert.equal((await hv.info()).memoryFree, free);
    });

    it('rejects nonsense sizes', async () => {
      await rejectsWith(hv.create({ vmUuid: vm(), memory: 0, vcpus: 1 }), 'INVALID_ARGUMENT');
      await rejectsWith(hv.create({ vmUuid: vm(), memory: MiB, vcpus: 0 }), 'INVALID_ARGUMENT');
    });

    it('answers NO_SUCH_DOMAIN for a VM without a domain', async () => {
      const u = vm();
      await rejectsWith(hv.destroy(u), 'NO_SUCH_DOMAIN');
      await rejectsWith(hv.shutdown(u, { timeoutMs: 1000 }), 'NO_SUCH_DOMAIN');
      await rejectsWith(hv.reboot(u, { clean: false }), 'NO_SUCH_DOMAIN');
      await rejectsWith(hv.pause(u), 'NO_SUCH_DOMAIN');
      await rejectsWith(hv.unpause(u), 'NO_SUCH_DOMAIN');
      await rejectsWith(hv.suspend(u, { path: join(dir, 'none') }), 'NO_SUCH_DOMAIN');
      await rejectsWith(hv.migrateSend(u, { address: '127.0.0.1', port: 1, token: 'x' }), 'NO_SUCH_DOMAIN');
    });

    it('pauses and unpauses only from the right state', async () => {
      const u = vm();
      await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
      await rejectsWith(hv.unpause(u), 'BAD_STATE');
      assert.equal((await hv.pause(u)).state, 'paused');
      const e = await rejectsWith(hv.pause(u), 'BAD_STATE');
      assert.equal(e.details.actual, 'paused');
      await rejectsWith(hv.shutdown(u, { timeoutMs: 1000 }), 'BAD_STATE');
      await rejectsWith(hv.suspend(u, { path: join(dir, 'p') }), 'BAD_STATE');
      assert.equal((await hv.unpause(u)).state, 'running');
      await hv.destroy(u);
    });

    it('starts a domain paused when asked, and hard-stops it from there', async () => {
      const u = vm();
      assert.equal((await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1, paused: true })).state, 'paused');
      await hv.destroy(u);
      assert.equal(await find(hv, u), undefined);
    });

    it('shuts a running domain down cleanly and returns its memory', async () => {
      const free = (await hv.info()).memoryFree;
      const u = vm();
      await hv.create({ vmUuid: u, memory: 128 * MiB, vcpus: 1 });
      await hv.shutdown(u, { timeoutMs: 10_000 });
      assert.equal(await find(hv, u), undefined);
      assert.equal((await hv.info()).memoryFree, free);
    });

    it('reboots: a new domid and guest boot, same memory, running', async () => {
      const u = vm();
      const d0 = await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
      const free = (await hv.info()).memoryFree;
      const d1 = await hv.reboot(u, { clean: true, timeoutMs: 10_000 });
      assert.equal(d1.state, 'running');
      assert.notEqual(d1.domid, d0.domid);
      assert.notEqual(d1.guestBootId, d0.guestBootId);
      assert.equal((await hv.info()).memoryFree, free);
      await hv.pause(u);
      await rejectsWith(hv.reboot(u, { clean: true }), 'BAD_STATE');
      const d2 = await hv.reboot(u, { clean: false });
      assert.equal(d2.state, 'running');
      assert.notEqual(d2.guestBootId, d1.guestBootId);
      await hv.destroy(u);
    });

    it('suspends to a file and resumes the same guest', async () => {
      const free = (await hv.info()).memoryFree;
      const u = vm();
      const d0 = await hv.create({ vmUuid: u, memory: 96 * MiB, vcpus: 2 });
      const path = join(dir, `${u}.img`);
      const r = await hv.suspend(u, { path });
      assert.equal(r.path, path);
      assert.ok(r.bytes > 0);
      assert.equal(await find(hv, u), undefined);
      assert.equal((await hv.info()).memoryFree, free);
      await rejectsWith(hv.resume({ vmUuid: vm(), path }), 'BAD_IMAGE');
      const d1 = await hv.resume({ vmUuid: u, path });
      assert.equal(d1.state, 'running');
      assert.notEqual(d1.domid, d0.domid);
      assert.equal(d1.guestBootId, d0.guestBootId);
      assert.equal(d1.startedAt, d0.startedAt);
      assert.equal(d1.memory, 96 * MiB);
      assert.equal(d1.vcpus, 2);
      await rejectsWith(hv.resume({ vmUuid: u, path }), 'ALREADY_EXISTS');
      await hv.destroy(u);
    });

    it('builds a domain with its network cards and hot-plugs others by Xen\'s rules', async () => {
      const u = vm();
      const nic = (device: string) => ({ device, mac: `02:00:00:00:00:0${device}`, bridge: 'xenbr0' });
      const d0 = await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1, nics: [nic('1'), nic('0')] });
      assert.deepEqual(d0.nics?.map((n) => n.device), ['0', '1']);
      const d1 = await hv.plugNic(u, nic('3'));
      assert.deepEqual(d1.nics?.map((n) => n.device), ['0', '1', '3']);
      assert.deepEqual((await find(hv, u))?.nics?.map((n) => n.device), ['0', '1', '3']);
      const e = await rejectsWith(hv.plugNic(u, nic('3')), 'DEVICE_EXISTS');
      assert.equal(e.details.device, '3');
      await rejectsWith(hv.plugNic(u, { device: 'eth0', mac: '02:00:00:00:00:09', bridge: 'xenbr0' }), 'INVALID_ARGUMENT');
      await rejectsWith(hv.plugNic(u, { device: '4', mac: 'nonsense', bridge: 'xenbr0' }), 'INVALID_ARGUMENT');
      const d2 = await hv.unplugNic(u, '0', { force: false });
      assert.deepEqual(d2.nics?.map((n) => n.device), ['1', '3']);
      await rejectsWith(hv.unplugNic(u, '0', { force: true }), 'NO_SUCH_DEVICE');
      await rejectsWith(hv.plugNic(vm(), nic('0')), 'NO_SUCH_DOMAIN');
      // A paused guest cannot answer a clean unplug; a forced one needs no answer.
      await hv.pause(u);
      await rejectsWith(hv.unplugNic(u, '1', { force: false }), 'NO_GUEST_AGENT');
      assert.deepEqual((await hv.unplugNic(u, '1', { force: true })).nics?.map((n) => n.device), ['3']);
      await hv.unpause(u);
      // Cards stay across a reboot, a suspend and resume.
      assert.deepEqual((await hv.reboot(u, { clean: false })).nics?.map((n) => n.device), ['3']);
      const path = join(dir, `${u}-nics.img`);
      await hv.suspend(u, { path });
      const d3 = await hv.resume({ vmUuid: u, path });
      assert.deepEqual(d3.nics, [{ device: '3', mac: '02:00:00:00:00:03', bridge: 'xenbr0' }]);
      await hv.destroy(u);
    });

    it('refuses to resume from something that is not its image', async () => {
      const junk = join(dir, 'junk.img');
      await writeFile(junk, 'not an image');
      await rejectsWith(hv.resume({ vmUuid: vm(), path: junk }), 'BAD_IMAGE');
      await rejectsWith(hv.resume({ vmUuid: vm(), path: join(dir, 'missing.img') }), 'BAD_IMAGE');
    });

    it('reports domain changes to watchers, in order, until they stop watching', async () => {
      const rec = await recordEvents(hv);
      const other = await recordEvents(hv);
      const u = vm();
      await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
      await hv.pause(u);
      await hv.unpause(u);
      await hv.destroy(u);
      const gone = await rec.next((e) => e.vmUuid === u && e.kind === 'destroyed');
      assert.equal(gone.domain, undefined);
      const mine = rec.events.filter((e) => e.vmUuid === u);
      assert.deepEqual(mine.map((e) => e.kind), ['created', 'paused', 'unpaused', 'destroyed']);
      assert.deepEqual(mine.slice(0, 3).map((e) => e.domain?.state), ['running', 'paused', 'running']);
      rec.stop();
      const u2 = vm();
      await hv.create({ vmUuid: u2, memory: 64 * MiB, vcpus: 1 });
      await other.next((e) => e.vmUuid === u2);
      assert.equal(rec.events.some((e) => e.vmUuid === u2), false);
      other.stop();
      await hv.destroy(u2);
    });

    describe('live migration', () => {
      const peer = () => {
        if (!fx.peer) throw new Error('no peer');
        return fx.peer;
      };
      const skip = () => !fx.peer;

      it('moves a running domain to the peer, which keeps the same guest running', async (t) => {
        if (skip()) return t.skip('fixture has no second host');
        const p = peer();
        const u = vm();
        const srcFree = (await hv.info()).memoryFree;
        const dstFree = (await p.hv.info()).memoryFree;
        const d0 = await hv.create({ vmUuid: u, memory: 128 * MiB, vcpus: 2, nics: [{ device: '0', mac: '02:aa:00:00:00:01', bridge: 'xenbr0' }] });
        const srcEvents = await recordEvents(hv);
        const dstEvents = await recordEvents(p.hv);
        const token = await p.hv.prepareReceive(u);
        const progress: number[] = [];
        await hv.migrateSend(u, { address: p.address, port: p.port, token }, { onProgress: (f) => progress.push(f) });
        assert.equal(await find(hv, u), undefined);
        const d1 = await find(p.hv, u);
        assert.ok(d1);
        assert.equal(d1.state, 'running');
        assert.equal(d1.guestBootId, d0.guestBootId);
        assert.equal(d1.startedAt, d0.startedAt);
        assert.equal(d1.memory, d0.memory);
        assert.equal(d1.vcpus, 2);
        assert.deepEqual(d1.nics, d0.nics);
        assert.equal((await hv.info()).memoryFree, srcFree);
        assert.equal((await p.hv.info()).memoryFree, dstFree - 128 * MiB - ((await p.hv.info()).memoryOverheadPerDomain ?? 0));
        assert.ok(progress.length >= 1);
        assert.equal(progress.at(-1), 1);
        assert.deepEqual(progress, [...progress].sort((a, b) => a - b));
        assert.equal((await srcEvents.next((e) => e.vmUuid === u && e.kind === 'migrated-out')).domain, undefined);
        assert.equal((await dstEvents.next((e) => e.vmUuid === u && e.kind === 'migrated-in')).domain?.state, 'running');
        srcEvents.stop();
        dstEvents.stop();
        await p.hv.destroy(u);
      });

      it('keeps the domain running on the source when the token is wrong or spent', async (t) => {
        if (skip()) return t.skip('fixture has no second host');
        const p = peer();
        const u = vm();
        const d0 = await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
        await rejectsWith(hv.migrateSend(u, { address: p.address, port: p.port, token: 'f'.repeat(48) }), 'BAD_TOKEN');
        const wrongVm = await p.hv.prepareReceive(vm());
        await rejectsWith(hv.migrateSend(u, { address: p.address, port: p.port, token: wrongVm }), 'BAD_TOKEN');
        assert.deepEqual(await find(hv, u), d0);
        assert.equal(await find(p.hv, u), undefined);
        const token = await p.hv.prepareReceive(u);
        await hv.migrateSend(u, { address: p.address, port: p.port, token });
        // Back again with the same token: it was used up.
        await rejectsWith(p.hv.migrateSend(u, { address: p.address, port: p.port, token }), 'BAD_TOKEN');
        await p.hv.destroy(u);
      });

      it('refuses when the peer lacks memory, leaving both hosts as they were', async (t) => {
        if (skip()) return t.skip('fixture has no second host');
        const p = peer();
        const dstInfo = await p.hv.info();
        const oh = dstInfo.memoryOverheadPerDomain ?? 0;
        const filler = vm();
        await p.hv.create({ vmUuid: filler, memory: dstInfo.memoryFree - oh - 32 * MiB, vcpus: 1 });
        const u = vm();
        const d0 = await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
        const dstFree = (await p.hv.info()).memoryFree;
        const token = await p.hv.prepareReceive(u);
        await rejectsWith(hv.migrateSend(u, { address: p.address, port: p.port, token }), 'NOT_ENOUGH_MEMORY');
        assert.deepEqual(await find(hv, u), d0);
        assert.equal(await find(p.hv, u), undefined);
        assert.equal((await p.hv.info()).memoryFree, dstFree);
        await p.hv.destroy(filler);
        await hv.destroy(u);
      });

      it('refuses when the peer already has a domain for the VM', async (t) => {
        if (skip()) return t.skip('fixture has no second host');
        const p = peer();
        const u = vm();
        await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
        await p.hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1 });
        const token = await p.hv.prepareReceive(u);
        await rejectsWith(hv.migrateSend(u, { address: p.address, port: p.port, token }), 'ALREADY_EXISTS');
        assert.equal((await find(hv, u))?.state, 'running');
        await hv.destroy(u);
        await p.hv.destroy(u);
      });

      it('moves a paused domain, which stays paused', async (t) => {
        if (skip()) return t.skip('fixture has no second host');
        const p = peer();
        const u = vm();
        await hv.create({ vmUuid: u, memory: 64 * MiB, vcpus: 1, paused: true });
        await hv.migrateSend(u, { address: p.address, port: p.port, token: await p.hv.prepareReceive(u) });
        assert.equal((await find(p.hv, u))?.state, 'paused');
        await p.hv.destroy(u);
      });
    });
  });
}
