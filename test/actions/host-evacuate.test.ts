/**
 * Host evacuation across real simulator processes (test/helpers/local-pool.ts): the plan
 * spreads VMs over the other live, enabled hosts by free memory, the migrations run in a
 * window of `evacuate_batch_size`, every guest keeps its boot, and what blocks an
 * evacuation is reported as xapi reports it (CANNOT_EVACUATE_HOST, and per VM in
 * get_vms_which_prevent_evacuation).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Ref } from '../../src/core/ref.js';
import { windowed } from '../../src/actions/host/host-evacuate.js';
import { GiB, MiB, recordingTask, startLocalPool, type LocalPool } from '../helpers/local-pool.js';
import { toWireError } from '../../src/core/wire-errors.js';
import type { PoolLink } from '../../src/core/ports/pool-link.js';
import { VdiMissingError } from '../../src/core/ports/storage-errors.js';

describe('windowed', () => {
  it('keeps at most n running and starts the next as soon as one ends', async () => {
    // The first item holds its slot until the four after it have all ended: a window that
    // slides runs them in the other slot meanwhile, one that waits per batch never starts
    // them (and the hold gives up after HOLD_MS, failing the test). No race with a timer.
    const HOLD_MS = 30_000;
    let running = 0;
    let peak = 0;
    const order: string[] = [];
    let shortsDone!: () => void;
    const allShortsDone = new Promise<void>((r) => { shortsDone = r; });
    let shorts = 0;
    await windowed(['long', 's1', 's2', 's3', 's4'], 2, async (item) => {
      running++;
      peak = Math.max(peak, running);
      if (item === 'long') {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([allShortsDone, new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the short items did not run beside the long one (ended: ${order.join(' ')})`)), HOLD_MS);
        })]).finally(() => clearTimeout(timer));
      } else {
        await new Promise((r) => setImmediate(r));
        if (++shorts === 4) shortsDone();
      }
      order.push(item);
      running--;
    });
    assert.equal(peak, 2);
    // The short ones pass the long one: the window slides rather than waiting per batch.
    assert.deepEqual(order, ['s1', 's2', 's3', 's4', 'long']);
  });
});

describe('host.evacuate across simulator processes', () => {
  let pool: LocalPool;
  before(async () => { pool = await startLocalPool({ hosts: 3, memory: 3 * GiB, migrationRateMiBs: 2048 }); });
  after(async () => { await pool.stop(); });

  const master = () => pool.hosts[0]!.ref;
  const start = (vm: Ref<'VM'>, on = 0) => pool.call('VM.start_on', { vm, host: pool.hosts[on]!.ref, start_paused: false, force: false });
  const bootIds = async () => {
    const out = new Map<string, string>();
    for (const h of pool.hosts) for (const d of await h.client.list()) out.set(d.vmUuid, d.guestBootId);
    return out;
  };

  it('moves every VM live to the other hosts, spread by free memory, and never stops one', async () => {
    const vms = [1, 2, 3, 4].map((i) => pool.makeVm({ name: `vm${i}`, memory: 384 * MiB }));
    for (const vm of vms) await start(vm);
    const boots = await bootIds();
    await pool.call('host.disable', { host: master() });
    await pool.call('host.assert_can_evacuate', { host: master() });
    assert.deepEqual(await pool.call('host.get_vms_which_prevent_evacuation', { self: master() }), {});

    // Watch the records while it runs: power_state must never leave Running.
    let watching = true;
    const seen = new Set<string>();
    const watcher = (async () => {
      let gen = pool.db.generation;
      while (watching) {
        await pool.db.waitForChange(gen, 200);
        const ch = pool.db.changesSince(gen, (cls) => cls === 'VM');
        gen = ch.gen;
        for (const vm of vms) seen.add(String(pool.vm(vm).power_state));
      }
    })();
    const task = recordingTask();
    await pool.call('host.evacuate', { host: master(), network: 'OpaqueRef:NULL', evacuate_batch_size: 2 }, { task });
    watching = false;
    await watcher;

    assert.deepEqual([...seen], ['Running']);
    const placed = vms.map((vm) => pool.hostIndex(pool.vm(vm).resident_on));
    assert.ok(placed.every((i) => i === 1 || i === 2), String(placed));
    assert.equal(placed.filter((i) => i === 1).length, 2, 'two VMs on each target');
    assert.deepEqual(await pool.hosts[0]!.client.list(), []);
    const after = await bootIds();
    for (const vm of vms) assert.equal(after.get(pool.vm(vm).uuid), boots.get(pool.vm(vm).uuid));
    assert.deepEqual(task.progress, [0.25, 0.5, 0.75, 1]);
    assert.deepEqual(pool.db.get('host', master())!.current_operations, {});
    // A disabled host gets no new VMs.
    const extra = pool.makeVm();
    await pool.call('VM.start', { vm: extra, start_paused: false, force: false });
    assert.notEqual(pool.hostIndex(pool.vm(extra).resident_on), 0);
    await pool.call('host.enable', { host: master() });
    for (const vm of [...vms, extra]) await pool.call('VM.hard_shutdown', { vm });
  });

  it('reports what blocks an evacuation and moves nothing', async () => {
    const local = pool.makeVm({ name: 'local', srs: [pool.localSr] });
    const huge = pool.makeVm({ name: 'huge', memory: 2100 * MiB });
    const ok = pool.makeVm({ name: 'ok' });
    // Fill the other hosts so that `huge` fits nowhere else.
    const fillers = [1, 2].map(() => pool.makeVm({ name: 'filler', memory: GiB }));
    for (const vm of [local, huge, ok]) await start(vm);
    for (const [i, vm] of fillers.entries()) await start(vm, i + 1);
    const reasons = (await pool.call('host.get_vms_which_prevent_evacuation', { self: master() })) as Record<string, string[]>;
    assert.deepEqual(reasons[local], ['VM_REQUIRES_SR', local, pool.localSr]);
    assert.deepEqual(reasons[huge], ['HOST_NOT_ENOUGH_FREE_MEMORY', huge]);
    assert.equal(reasons[ok], undefined);
    await assert.rejects(pool.call('host.assert_can_evacuate', { host: master() }), (e: any) => {
      assert.equal(e.code, 'CANNOT_EVACUATE_HOST');
      const parts = String(e.params[0]).split('|').sort();
      assert.deepEqual(parts, [`HOST_NOT_ENOUGH_FREE_MEMORY,${huge}`, `VM_REQUIRES_SR,${local},${pool.localSr}`].sort());
      return true;
    });
    await assert.rejects(pool.call('host.evacuate', { host: master(), network: 'OpaqueRef:NULL', evacuate_batch_size: 0 }),
      (e: any) => ['VM_REQUIRES_SR', 'HOST_NOT_ENOUGH_FREE_MEMORY'].includes(e.code));
    for (const vm of [local, huge, ok]) assert.equal(pool.hostIndex(pool.vm(vm).resident_on), 0);
    for (const vm of [local, huge, ok, ...fillers]) await pool.call('VM.hard_shutdown', { vm });
  });

  it('with no other live, enabled host every VM is reported NO_HOSTS_AVAILABLE', async () => {
    const vm = pool.makeVm();
    await start(vm);
    await pool.call('host.disable', { host: pool.hosts[1]!.ref });
    await pool.call('host.disable', { host: pool.hosts[2]!.ref });
    try {
      assert.deepEqual(await pool.call('host.get_vms_which_prevent_evacuation', { self: master() }),
        { [vm]: ['NO_HOSTS_AVAILABLE', vm] });
    } finally {
      await pool.call('host.enable', { host: pool.hosts[1]!.ref });
      await pool.call('host.enable', { host: pool.hosts[2]!.ref });
    }
    await pool.call('VM.hard_shutdown', { vm });
  });

  it('a storage failure during a migration comes out as its XenAPI code, not INTERNAL_ERROR', async () => {
    // The destination's side of a migration fails in storage (a disk its SR no longer has),
    // as an in-process call hands it back: storage's own typed error, not yet a XenAPI one.
    const vm = pool.makeVm({ name: 'storage-failure' });
    await start(vm);
    const services = pool.hosts[0]!.services as { pool?: PoolLink };
    const link = services.pool!;
    services.pool = {
      ...link,
      callOnHost: async (host, method, params, opts) => {
        if (method === 'host.islet_hypervisor' && params[1] === 'prepareReceive') throw new VdiMissingError('sr-uuid-1', 'vdi-uuid-1');
        return link.callOnHost(host, method, params, opts);
      },
    };
    await pool.call('host.disable', { host: master() });
    try {
      const thrown = await pool.call('host.evacuate', { host: master(), network: 'OpaqueRef:NULL', evacuate_batch_size: 1 }).then(
        () => assert.fail('the evacuation succeeded although every migration failed'), (e: unknown) => e);
      // What the dispatcher and the task runner send: the API's one mapping.
      assert.deepEqual(toWireError(thrown).toWire(), ['VDI_MISSING', 'sr-uuid-1', 'vdi-uuid-1']);
    } finally {
      services.pool = link;
      await pool.call('host.enable', { host: master() });
    }
    assert.equal(pool.hostIndex(pool.vm(vm).resident_on), 0);
    await pool.call('VM.hard_shutdown', { vm });
  });
});
