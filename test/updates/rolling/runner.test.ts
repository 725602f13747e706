/**
 * The rolling update runner over a fake pool: master first, one host at a time, no VM halted,
 * VMs back home, no migration from an updated host to one that is not, and a run cut at any
 * step (a crash: the runner rebuilt from what it last saved) still finishes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RollingRunner, runProgress, type RunState } from '../../../src/updates/rolling/runner.js';
import { FakePool } from './fake-pool.js';

function pool(): FakePool {
  const p = new FakePool();
  for (const h of ['A', 'B', 'C']) p.addHost(h, 8);
  ['A', 'A', 'B', 'B', 'C', 'C'].forEach((h, i) => p.addVm(`vm${i}`, h, 2));
  return p;
}

function state(restart: 'host' | 'toolstack' | 'none' = 'host'): RunState {
  return {
    restart, evacuate: true, batch: 2, waitTimeoutMs: 5000, vmHomes: {},
    hosts: ['A', 'B', 'C'].map((h) => ({ host: h, name: h, step: 'pending' as const })),
  };
}

function homes(p: FakePool): Record<string, string> {
  return Object.fromEntries([...p.vms].map(([n, v]) => [n, v.host]));
}

describe('rolling update runner', () => {
  it('updates every host master first, keeps VMs running and brings them home', async () => {
    const p = pool();
    const before = homes(p);
    const r = new RollingRunner(state(), p);
    await r.run();
    assert.deepEqual([...p.hosts.values()].map((h) => h.applied), [true, true, true]);
    assert.deepEqual(p.events.filter((e) => e.startsWith('reboot')), ['reboot A', 'reboot B', 'reboot C']);
    assert.ok([...p.vms.values()].every((v) => v.running), 'no VM halted');
    assert.deepEqual(homes(p), before);
    for (const m of p.migrations) assert.ok(!m.fromUpdated || m.toUpdated, `${m.vm} moved from updated ${m.from} to ${m.to}`);
    assert.equal(runProgress(r.state), 1);
    assert.ok([...p.hosts.values()].every((h) => h.enabled));
  });

  it('one host at a time: a host is enabled again before the next is disabled', async () => {
    const p = pool();
    await new RollingRunner(state(), p).run();
    const seq = p.events.filter((e) => /^(disable|enable)/.test(e));
    assert.deepEqual(seq, ['disable A', 'enable A', 'disable B', 'enable B', 'disable C', 'enable C']);
  });

  it('prefers updated hosts as evacuation targets', async () => {
    const p = pool();
    await new RollingRunner(state(), p).run();
    // B's VMs go to A (updated) rather than C; C's to A or B.
    const fromB = p.migrations.filter((m) => m.from === 'B' && m.vm.match(/vm[23]/) && !m.to.startsWith('B'));
    assert.ok(fromB.every((m) => m.to === 'A'), JSON.stringify(fromB));
  });

  for (const at of ['disable:B', 'migrate:vm3', 'apply:B', 'restart:B', 'migrate:vm4', 'restart:A']) {
    it(`resumes after a crash at ${at}`, async () => {
      const p = pool();
      const before = homes(p);
      p.failOnce.add(at);
      await assert.rejects(new RollingRunner(state(), p).run(), /injected failure/);
      const resumed = JSON.parse(p.saved!) as RunState;
      await new RollingRunner(resumed, p).run();
      assert.ok([...p.hosts.values()].every((h) => h.applied && h.enabled));
      assert.ok([...p.vms.values()].every((v) => v.running), 'no VM halted');
      assert.deepEqual(homes(p), before);
      // No host rebooted twice.
      const reboots = p.events.filter((e) => e.startsWith('reboot'));
      assert.equal(new Set(reboots).size, reboots.length, reboots.join(','));
    });
  }

  it('a restart issued before the crash is not issued again', async () => {
    const p = pool();
    const s = state('toolstack');
    const r = new RollingRunner(s, p);
    // Run until host A's restart has been issued, then "crash".
    const origSave = p.save.bind(p);
    let stop = false;
    p.save = async (st) => {
      await origSave(st);
      if (st.hosts[0]!.step === 'wait') stop = true;
      if (stop) throw new Error('crash after restart');
    };
    await assert.rejects(r.run(), /crash after restart/);
    p.save = origSave;
    await new RollingRunner(JSON.parse(p.saved!) as RunState, p).run();
    assert.equal(p.events.filter((e) => e === 'restart-toolstack A').length, 1);
  });

  it('refuses to evacuate when no host has room', async () => {
    const p = new FakePool();
    p.addHost('A', 4);
    p.addHost('B', 2);
    p.addVm('big', 'A', 3);
    const s: RunState = { ...state(), hosts: [{ host: 'A', name: 'A', step: 'pending' }, { host: 'B', name: 'B', step: 'pending' }] };
    await assert.rejects(new RollingRunner(s, p).run(), (e: Error & { code?: string }) => e.code === 'CANNOT_EVACUATE_HOST');
    assert.equal(p.vms.get('big')!.running, true);
  });

  it('stops at a step boundary when aborted', async () => {
    const p = pool();
    const ac = new AbortController();
    const origDisable = p.disable.bind(p);
    p.disable = async (h) => {
      await origDisable(h);
      if (h === 'B') ac.abort();
    };
    await assert.rejects(new RollingRunner(state(), p, ac.signal).run(), /aborted/);
    assert.equal(p.hosts.get('C')!.applied, false);
  });
});
