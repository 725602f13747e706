/**
 * Placement and live migration across hosts, with a real hypervisor simulator process per
 * host (test/helpers/local-pool.ts): the domain moves between processes while its guest
 * keeps running (same guestBootId), the record follows only once the destination runs it,
 * and the refusals clients see (VM_REQUIRES_SR, HOST_NOT_ENOUGH_FREE_MEMORY, HOST_DISABLED,
 * VM_BAD_POWER_STATE) come before anything moves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Ref } from '../../src/core/ref.js';
import { GiB, MiB, recordingTask, startLocalPool, type LocalPool } from '../helpers/local-pool.js';

const rejectsWith = (p: Promise<unknown>, code: string) =>
  assert.rejects(p, (e: any) => { assert.equal(e.code, code, String(e)); return true; });

describe('VM placement and pool_migrate across simulator processes', () => {
  let pool: LocalPool;
  before(async () => { pool = await startLocalPool({ hosts: 3, memory: 2 * GiB }); });
  after(async () => { await pool.stop(); });

  const domainOn = async (i: number, uuid: string) => (await pool.hosts[i]!.client.list()).find((d) => d.vmUuid === uuid);

  it('start picks a live, enabled host with room, and start_on obeys the host given', async () => {
    const a = pool.makeVm({ memory: 512 * MiB });
    await pool.call('VM.start_on', { vm: a, host: pool.hosts[1]!.ref, start_paused: false, force: false });
    assert.equal(pool.hostIndex(pool.vm(a).resident_on), 1);
    assert.ok(await domainOn(1, pool.vm(a).uuid));
    // The roomiest enabled host: not host1 (it now runs a), and not the disabled host2.
    await pool.call('host.disable', { host: pool.hosts[2]!.ref });
    const b = pool.makeVm({ memory: 512 * MiB });
    await pool.call('VM.start', { vm: b, start_paused: false, force: false });
    assert.equal(pool.hostIndex(pool.vm(b).resident_on), 0);
    await rejectsWith(pool.call('VM.assert_can_boot_here', { self: pool.makeVm(), host: pool.hosts[2]!.ref }), 'HOST_DISABLED');
    const possible = (await pool.call('VM.get_possible_hosts', { vm: pool.makeVm() })) as string[];
    assert.deepEqual(possible.map((h) => pool.hostIndex(h)).sort(), [0, 1]);
    await pool.call('host.enable', { host: pool.hosts[2]!.ref });
    for (const vm of [a, b]) await pool.call('VM.hard_shutdown', { vm });
  });

  it('a VM with a disk on the master\'s local SR can start only there', async () => {
    const vm = pool.makeVm({ srs: [pool.sharedSr, pool.localSr] });
    await rejectsWith(pool.call('VM.start_on', { vm, host: pool.hosts[1]!.ref, start_paused: false, force: false }), 'VM_REQUIRES_SR');
    await pool.call('VM.start', { vm, start_paused: false, force: false });
    assert.equal(pool.hostIndex(pool.vm(vm).resident_on), 0);
    await assert.rejects(pool.call('VM.pool_migrate', { vm, host: pool.hosts[1]!.ref, options: { live: 'true' } }),
      (e: any) => e.code === 'VM_REQUIRES_SR' && e.params[0] === vm && e.params[1] === pool.localSr);
    assert.equal(pool.vm(vm).power_state, 'Running');
    assert.equal(pool.hostIndex(pool.vm(vm).resident_on), 0);
    await pool.call('VM.hard_shutdown', { vm });
  });

  it('pool_migrate moves the running guest between processes without rebooting it', async () => {
    const vm = pool.makeVm({ memory: 256 * MiB });
    await pool.call('VM.start_on', { vm, host: pool.hosts[0]!.ref, start_paused: false, force: false });
    const uuid = pool.vm(vm).uuid as string;
    const before = (await domainOn(0, uuid))!;
    const task = recordingTask();
    await pool.call('VM.pool_migrate', { vm, host: pool.hosts[2]!.ref, options: { live: 'true' } }, { task });
    const rec = pool.vm(vm);
    assert.equal(rec.power_state, 'Running');
    assert.equal(pool.hostIndex(rec.resident_on), 2);
    assert.equal(await domainOn(0, uuid), undefined);
    const after = (await domainOn(2, uuid))!;
    assert.equal(after.guestBootId, before.guestBootId);
    assert.equal(rec.domid, after.domid);
    assert.deepEqual(rec.current_operations, {});
    assert.ok(rec.allowed_operations.includes('pool_migrate'));
    assert.ok(task.progress.length > 0);
    // And back, from a member's hypervisor to the master's.
    await pool.call('VM.pool_migrate', { vm, host: pool.hosts[0]!.ref, options: {} });
    assert.equal((await domainOn(0, uuid))!.guestBootId, before.guestBootId);
    await pool.call('VM.hard_shutdown', { vm });
  });

  it('refuses a migration the destination cannot hold, before anything moves', async () => {
    const big = pool.makeVm({ memory: 1536 * MiB });
    const filler = pool.makeVm({ memory: 1024 * MiB });
    await pool.call('VM.start_on', { vm: big, host: pool.hosts[0]!.ref, start_paused: false, force: false });
    await pool.call('VM.start_on', { vm: filler, host: pool.hosts[1]!.ref, start_paused: false, force: false });
    await rejectsWith(pool.call('VM.pool_migrate', { vm: big, host: pool.hosts[1]!.ref, options: {} }), 'HOST_NOT_ENOUGH_FREE_MEMORY');
    assert.equal(pool.hostIndex(pool.vm(big).resident_on), 0);
    assert.ok(await domainOn(0, pool.vm(big).uuid));
    await rejectsWith(pool.call('VM.pool_migrate', { vm: big, host: pool.hosts[0]!.ref, options: {} }), 'OPERATION_NOT_ALLOWED');
    await pool.call('VM.pause', { vm: big });
    await assert.rejects(pool.call('VM.pool_migrate', { vm: big, host: pool.hosts[2]!.ref, options: {} }),
      (e: any) => e.code === 'VM_BAD_POWER_STATE' && e.params[1] === 'running' && e.params[2] === 'paused');
    for (const vm of [big, filler]) await pool.call('VM.hard_shutdown', { vm });
  });

  it('work on a host that cannot be reached fails with HOST_OFFLINE', async () => {
    const vm = pool.makeVm();
    pool.setOffline(1, true);
    try {
      await rejectsWith(pool.call('VM.start_on', { vm, host: pool.hosts[1]!.ref, start_paused: false, force: false }), 'HOST_OFFLINE');
      assert.equal(pool.vm(vm).power_state, 'Halted');
      // A plain start goes elsewhere.
      await pool.call('VM.start', { vm, start_paused: false, force: false });
      assert.notEqual(pool.hostIndex(pool.vm(vm).resident_on), 1);
    } finally {
      pool.setOffline(1, false);
    }
    await pool.call('VM.hard_shutdown', { vm });
  });

  it('suspend on one host, resume on another: the same guest carries on', async () => {
    const vm = pool.makeVm();
    await pool.call('VM.start_on', { vm, host: pool.hosts[1]!.ref, start_paused: false, force: false });
    const uuid = pool.vm(vm).uuid as string;
    const boot = (await domainOn(1, uuid))!.guestBootId;
    await pool.call('VM.suspend', { vm });
    assert.equal(pool.vm(vm).power_state, 'Suspended');
    await pool.call('VM.resume_on', { vm, host: pool.hosts[2]!.ref as Ref<'host'>, start_paused: false, force: false });
    assert.equal(pool.vm(vm).power_state, 'Running');
    assert.equal((await domainOn(2, uuid))!.guestBootId, boot);
    await pool.call('VM.clean_shutdown', { vm });
    assert.equal(pool.vm(vm).power_state, 'Halted');
  });
});
