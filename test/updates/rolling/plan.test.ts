/**
 * The rolling update plan: which hosts, in what order, what restart, and the estimate a dry
 * run prints.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HostSnapshot, makePlan, renderPlan, restartFor } from '../../../src/updates/rolling/plan.js';

const GiB = 1024 ** 3;
const host = (name: string, o: Partial<HostSnapshot> = {}): HostSnapshot => ({
  ref: `OpaqueRef:${name}`, name, uuid: `uuid-${name}`, isMaster: false, live: true, enabled: true,
  applied: false, pending: [], vmMemory: [], ...o,
});

describe('rolling update plan', () => {
  it('takes the restart from the guidance, a reboot winning, unless overridden', () => {
    assert.equal(restartFor(['restartXAPI']), 'toolstack');
    assert.equal(restartFor(['restartXAPI', 'restartHost']), 'host');
    assert.equal(restartFor(['restartHVM']), 'none');
    assert.equal(restartFor(['restartHost'], 'toolstack'), 'toolstack');
  });

  it('puts the master first, then the others by name, and skips hosts with nothing to do', () => {
    const p = makePlan([
      host('c'), host('a', { applied: true }), host('m', { isMaster: true }), host('b', { applied: true, pending: ['restartHost'] }),
    ], ['restartHost']);
    assert.deepEqual(p.hosts.map((h) => h.name), ['m', 'b', 'c']);
    assert.deepEqual(p.skipped.map((h) => h.name), ['a']);
    assert.equal(p.hosts.find((h) => h.name === 'b')!.install, false);
  });

  it('estimates moving VMs off and back in batches, plus the restart', () => {
    const rates = { migrationBytesPerSecond: GiB, rebootSeconds: 30, toolstackRestartSeconds: 10, applySeconds: 2 };
    const p = makePlan([host('m', { isMaster: true, vmMemory: [GiB, GiB, GiB, GiB] })], ['restartHost'], { batch: 2 }, rates);
    // 4 VMs of 1 s each, 2 at a time: 2 s out, 2 s back; apply 2 s; reboot 30 s.
    assert.equal(p.estimateSeconds, 36);
    const text = renderPlan(p, 'XS602E006');
    assert.match(text, /^Rolling update of XS602E006: 1 host\(s\), reboot each/);
    assert.match(text, /^1\. m \(uuid-m\): disable, evacuate 4 VM\(s\) live, apply, reboot, wait until back, enable, migrate its VMs back {2}~36 s$/m);
    assert.match(text, /Estimated duration: 36 s/);
  });

  it('without evacuation nothing moves and the estimate has no migrations', () => {
    const p = makePlan([host('m', { isMaster: true, vmMemory: [GiB] })], ['restartXAPI'], { evacuate: false });
    assert.equal(p.restart, 'toolstack');
    assert.doesNotMatch(renderPlan(p, 'U'), /evacuate/);
  });
});
