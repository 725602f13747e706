/**
 * VM appliances (vApps) on one real host with its hypervisor simulator: the operations an
 * appliance allows as its members' power states change, a start that boots its VMs group
 * by group in `order` (the next group only once the one before has started and waited its
 * start_delay), a shutdown in the reverse order, the operation lock, a partial failure,
 * and the recovery checks. The order is read from the events the database sent, not from
 * clocks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { completeRecord } from '../../src/client/create-record.js';
import { type IsletProcess, startIslet } from '../helpers/islet-server.js';
import { watchEvents } from '../helpers/watch-events.js';

const MiB = 1024 * 1024;
const PW = 'vapp-pw';

describe('VM_appliance', () => {
  let islet: IsletProcess;
  let api: XapiClient;

  before(async () => {
    islet = await startIslet({ rootPassword: PW, env: { ISLET_HYPERVISOR_MEMORY: '2G' } });
    api = new XapiClient({ url: islet.url });
    await api.login('root', PW);
  });
  after(async () => {
    await api?.logout().catch(() => undefined);
    api?.close();
    await islet?.stop();
  });

  const call = (m: string, ...a: unknown[]) => api.call(m, ...a) as Promise<any>;
  const makeVm = async (name: string, memory = 128 * MiB) => String(await call('VM.create', completeRecord('VM', {
    name_label: name, memory_static_max: memory, memory_dynamic_max: memory, memory_dynamic_min: memory,
    memory_static_min: memory, VCPUs_max: 1, VCPUs_at_startup: 1,
  })));
  const failsWith = (p: Promise<unknown>, code: string, params?: unknown[]) => assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, String(e));
    if (params) assert.deepEqual(e.params, params);
    return true;
  });
  const power = async (vm: string) => String(await call('VM.get_power_state', vm));
  const newAppliance = async (name: string) => String(await call('VM_appliance.create', { name_label: name, name_description: 'a tier' }));

  /** Every power state change of `vms` while `fn` runs, in the order the database made them. */
  async function transitions(vms: string[], fn: () => Promise<void>): Promise<Array<[string, string]>> {
    const last = new Map<string, string>();
    for (const vm of vms) last.set(vm, await power(vm));
    const seen: Array<[string, string]> = [];
    await watchEvents(api, ['vm'], (e) => {
      if (!e.snapshot || !last.has(e.ref)) return;
      const state = String(e.snapshot.power_state);
      if (last.get(e.ref) !== state) seen.push([e.ref, state]);
      last.set(e.ref, state);
    }, fn, { fromNow: true });
    return seen;
  }
  const firstIndex = (seen: Array<[string, string]>, vm: string, state: string) => seen.findIndex(([v, s]) => v === vm && s === state);

  it('is created by the generic create with no VMs and no operation allowed, and listed by name', async () => {
    const app = await newAppliance('empty');
    const r = await call('VM_appliance.get_record', app);
    assert.equal(r.name_label, 'empty');
    assert.equal(r.name_description, 'a tier');
    assert.deepEqual(r.VMs, []);
    assert.deepEqual(r.allowed_operations, []);
    assert.deepEqual(r.current_operations, {});
    assert.deepEqual(await call('VM_appliance.get_by_name_label', 'empty'), [app]);
    await failsWith(call('VM_appliance.start', app, false), 'OPERATION_NOT_ALLOWED', ['Appliance has no VMs.']);
    await call('VM_appliance.set_name_label', app, 'renamed');
    await call('VM_appliance.destroy', app);
    await failsWith(call('VM_appliance.get_record', app), 'HANDLE_INVALID');
  });

  it('starts its VMs lowest order first and shuts them down highest first, waiting each group', async () => {
    const app = await newAppliance('ordered');
    const db = await makeVm('db');
    const web1 = await makeVm('web1');
    const web2 = await makeVm('web2');
    const lb = await makeVm('lb');
    for (const [vm, order] of [[db, 0], [web1, 1], [web2, 1], [lb, 2]] as const) {
      await call('VM.set_appliance', vm, app);
      await call('VM.set_order', vm, order);
    }
    // The database waits a second after booting before the web servers may start.
    await call('VM.set_start_delay', db, 1);
    await call('VM.set_shutdown_delay', web1, 1);
    assert.deepEqual(await call('VM_appliance.get_allowed_operations', app), ['start']);

    const up = await transitions([db, web1, web2, lb], () => call('VM_appliance.start', app, false));
    for (const vm of [db, web1, web2, lb]) assert.equal(await power(vm), 'Running');
    const dbUp = firstIndex(up, db, 'Running');
    const webUp = Math.min(firstIndex(up, web1, 'Running'), firstIndex(up, web2, 'Running'));
    const websUp = Math.max(firstIndex(up, web1, 'Running'), firstIndex(up, web2, 'Running'));
    const lbUp = firstIndex(up, lb, 'Running');
    assert.ok(dbUp >= 0 && dbUp < webUp && websUp < lbUp, `start order: ${JSON.stringify(up)}`);
    assert.deepEqual(await call('VM_appliance.get_allowed_operations', app), ['clean_shutdown', 'hard_shutdown', 'shutdown']);
    await failsWith(call('VM_appliance.start', app, false), 'OPERATION_NOT_ALLOWED', ['There are no halted VMs in this appliance.']);

    const down = await transitions([db, web1, web2, lb], () => call('VM_appliance.clean_shutdown', app));
    for (const vm of [db, web1, web2, lb]) assert.equal(await power(vm), 'Halted');
    const lbDown = firstIndex(down, lb, 'Halted');
    const websDown = Math.max(firstIndex(down, web1, 'Halted'), firstIndex(down, web2, 'Halted'));
    const webDown = Math.min(firstIndex(down, web1, 'Halted'), firstIndex(down, web2, 'Halted'));
    const dbDown = firstIndex(down, db, 'Halted');
    assert.ok(lbDown >= 0 && lbDown < webDown && websDown < dbDown, `shutdown order: ${JSON.stringify(down)}`);
    assert.deepEqual(await call('VM_appliance.get_allowed_operations', app), ['start']);
    await failsWith(call('VM_appliance.hard_shutdown', app), 'OPERATION_NOT_ALLOWED', ['All VMs in this appliance are halted.']);
  });

  it('starts paused, acts on every VM not yet in the state, and forces a shutdown', async () => {
    const app = await newAppliance('paused');
    const a = await makeVm('a');
    const b = await makeVm('b');
    await call('VM.set_appliance', a, app);
    await call('VM.set_appliance', b, app);
    await call('VM.start', a, false, false);
    assert.deepEqual(await call('VM_appliance.get_allowed_operations', app), ['start', 'clean_shutdown', 'hard_shutdown', 'shutdown']);
    // Every VM not paused is started paused, as in xapi: `b` is, and `a`, already running,
    // cannot be, which the appliance reports.
    await failsWith(call('VM_appliance.start', app, true), 'OPERATION_PARTIALLY_FAILED', ['VM_appliance.start', a]);
    assert.deepEqual([await power(a), await power(b)], ['Running', 'Paused']);
    await failsWith(call('VM_appliance.clean_shutdown', app), 'OPERATION_PARTIALLY_FAILED', ['VM_appliance.clean_shutdown', b]);
    assert.deepEqual([await power(a), await power(b)], ['Halted', 'Paused']);
    await call('VM_appliance.hard_shutdown', app);
    assert.deepEqual([await power(a), await power(b)], ['Halted', 'Halted']);
    await call('VM.start', b, false, false);
    await call('VM_appliance.shutdown', app);
    assert.equal(await power(b), 'Halted');
  });

  it('runs one operation at a time, and reports the VMs that did not start', async () => {
    const app = await newAppliance('busy');
    const slow = await makeVm('slow');
    const huge = await makeVm('huge', 64 * 1024 * MiB);
    await call('VM.set_appliance', slow, app);
    await call('VM.set_start_delay', slow, 1);
    const starting = call('VM_appliance.start', app, false).catch((e: unknown) => e);
    // While it runs its operation is listed, and a second one is refused.
    for (let i = 0; i < 100 && Object.keys(await call('VM_appliance.get_current_operations', app)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const ops = await call('VM_appliance.get_current_operations', app);
    assert.deepEqual(Object.values(ops), ['start']);
    await failsWith(call('VM_appliance.hard_shutdown', app), 'OTHER_OPERATION_IN_PROGRESS', ['VM_appliance', app, 'start', Object.keys(ops)[0]]);
    assert.equal(await starting, '');
    assert.deepEqual(await call('VM_appliance.get_current_operations', app), {});

    await call('VM.set_appliance', huge, app);
    await failsWith(call('VM_appliance.start', app, false), 'OPERATION_PARTIALLY_FAILED', ['VM_appliance.start', huge]);
    assert.equal(await power(slow), 'Running');
    await call('VM_appliance.hard_shutdown', app);
  });

  it('checks that its VMs could be recovered, and answers recover as the import would', async () => {
    const app = await newAppliance('recoverable');
    const vm = await makeVm('member');
    await call('VM.set_appliance', vm, app);
    const me = api.sessionId!;
    await call('VM_appliance.assert_can_be_recovered', app, me);
    await failsWith(call('VM_appliance.assert_can_be_recovered', app, 'OpaqueRef:nosession'), 'SESSION_INVALID', ['OpaqueRef:nosession']);
    await failsWith(call('VM_appliance.recover', app, me, false), 'VM_TO_IMPORT_IS_NOT_NEWER_VERSION', [vm, '0', '0']);
    await call('VM_appliance.recover', app, me, true);
    assert.deepEqual(await call('VM_appliance.get_VMs', app), [vm]);
  });
});
