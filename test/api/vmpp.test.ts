/**
 * VM protection policies (XenServer 6.0.2's VMPP) on a real host: the setters' checks of
 * the schedules, the retention and the archive target; protect_now making policy
 * snapshots and pruning the oldest beyond the retention; what a policy refuses (destroying
 * it while it has VMs, protecting a template, making a protected VM a template); the
 * archive that cannot reach its share; and xe's vmpp commands. The scheduler is driven in
 * process with a clock the test moves, so nothing here waits for time to pass.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { completeRecord } from '../../src/client/create-record.js';
import { VmppScheduler } from '../../src/actions/vmpp/vmpp-scheduler.js';
import { startXeServer, type XeServer } from '../helpers/xe.js';
import { startLocalPool, type LocalPool } from '../helpers/local-pool.js';

const MiB = 1024 * 1024;
const PW = 'vmpp-pw';

describe('VMPP', () => {
  let s: XeServer;

  before(async () => {
    s = await startXeServer({ password: PW });
  });
  after(async () => {
    await s?.stop();
  });

  const call = (m: string, ...a: unknown[]) => s.api.call(m, ...a) as Promise<any>;
  const failsWith = (p: Promise<unknown>, code: string, params?: unknown[]) => assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, String(e));
    if (params) assert.deepEqual(e.params, params);
    return true;
  });
  const makeVm = async (name: string) => String(await call('VM.create', completeRecord('VM', {
    name_label: name, memory_static_max: 128 * MiB, memory_dynamic_max: 128 * MiB, memory_dynamic_min: 128 * MiB,
    memory_static_min: 128 * MiB, VCPUs_max: 1, VCPUs_at_startup: 1,
  })));
  const newPolicy = async (fields: Record<string, unknown> = {}) => String(await call('VMPP.create', {
    name_label: 'p', backup_type: 'snapshot', backup_frequency: 'daily', ...fields,
  }));

  it('create completes the schedule for its frequency and checks what it is given', async () => {
    const p = await newPolicy({ backup_schedule: { min: '15' } });
    const rec = await call('VMPP.get_record', p);
    assert.deepEqual(rec.backup_schedule, { hour: '0', min: '15' });
    assert.equal(rec.backup_retention_value, 7);
    assert.equal(rec.archive_frequency, 'never');
    await failsWith(newPolicy({ backup_schedule: { min: '10' } }), 'INVALID_VALUE', ['backup-schedule:min', '10']);
    await failsWith(newPolicy({ backup_frequency: 'hourly', backup_schedule: { hour: '3' } }), 'INVALID_VALUE', ['backup-schedule:hour', '3']);
    await failsWith(newPolicy({ backup_retention_value: 11 }), 'INVALID_VALUE', ['backup_retention_value', '11']);
    await failsWith(newPolicy({ archive_frequency: 'daily' }), 'INVALID_VALUE', ['archive_target_type', 'none']);
    await call('VMPP.destroy', p);
  });

  it('the setters check keys, values, retention and frequencies as xapi did', async () => {
    const p = await newPolicy();
    await call('VMPP.set_backup_frequency', p, 'weekly');
    assert.deepEqual(await call('VMPP.get_backup_schedule', p), { hour: '0', min: '0', days: 'Monday' });
    await call('VMPP.add_to_backup_schedule', p, 'days', 'monday,FRIDAY');
    assert.equal((await call('VMPP.get_backup_schedule', p)).days, 'Monday,Friday');
    await failsWith(call('VMPP.add_to_backup_schedule', p, 'days', 'Funday'), 'INVALID_VALUE', ['backup-schedule:days', 'Funday']);
    await failsWith(call('VMPP.add_to_backup_schedule', p, 'hour', '24'), 'INVALID_VALUE', ['backup-schedule:hour', '24']);
    await failsWith(call('VMPP.set_backup_schedule', p, { sec: '1' }), 'INVALID_VALUE', ['backup-schedule:sec', '1']);
    await call('VMPP.set_backup_frequency', p, 'hourly');
    assert.deepEqual(await call('VMPP.get_backup_schedule', p), { min: '0' });
    await failsWith(call('VMPP.set_backup_retention_value', p, 0), 'INVALID_VALUE', ['backup_retention_value', '0']);
    await call('VMPP.set_backup_retention_value', p, 10);
    await failsWith(call('VMPP.set_archive_frequency', p, 'daily'), 'INVALID_VALUE', ['archive_target_type', 'none']);
    await call('VMPP.set_archive_target_type', p, 'nfs');
    assert.deepEqual(await call('VMPP.get_archive_target_config', p), { location: '' });
    await failsWith(call('VMPP.add_to_archive_target_config', p, 'share', 'x'), 'INVALID_VALUE', ['archive-target-config:share', 'x']);
    await call('VMPP.set_archive_frequency', p, 'daily');
    await call('VMPP.set_backup_frequency', p, 'daily');
    await failsWith(call('VMPP.set_backup_frequency', p, 'weekly'), 'VMPP_ARCHIVE_MORE_FREQUENT_THAN_BACKUP', []);
    await failsWith(call('VMPP.add_to_alarm_config', p, 'smtp_port', '0'), 'INVALID_VALUE', ['alarm-config:smtp_port', '0']);
    await call('VMPP.set_is_alarm_enabled', p, true);
    assert.deepEqual(await call('VMPP.get_alarm_config', p), { email_address: '', smtp_server: '', smtp_port: '25' });
    await call('VMPP.set_archive_target_type', p, 'none');
    const rec = await call('VMPP.get_record', p);
    assert.equal(rec.archive_frequency, 'never');
    assert.deepEqual(rec.archive_schedule, {});
    await call('VMPP.destroy', p);
  });

  it('a CIFS password is kept as a secret', async () => {
    const p = await newPolicy({ archive_target_type: 'cifs', archive_frequency: 'always_after_backup',
      archive_target_config: { location: '//srv/share', username: 'u', password: 'hunter2' } });
    const uuid = (await call('VMPP.get_archive_target_config', p)).password;
    assert.equal(await call('secret.get_value', await call('secret.get_by_uuid', uuid)), 'hunter2');
    await call('VMPP.destroy', p);
    await failsWith(call('secret.get_by_uuid', uuid), 'UUID_INVALID');
  });

  it('protect_now snapshots every VM and keeps only the newest backup_retention_value', async () => {
    const p = await newPolicy({ backup_retention_value: 2 });
    const vm = await makeVm('guarded');
    await call('VM.set_protection_policy', vm, p);
    assert.deepEqual(await call('VMPP.get_VMs', p), [vm]);
    const taken: string[] = [];
    for (let i = 0; i < 3; i++) {
      await call('VMPP.protect_now', p);
      const snaps: string[] = await call('VM.get_snapshots', vm);
      taken.push(...snaps.filter((x) => !taken.includes(x)));
    }
    const left: string[] = await call('VM.get_snapshots', vm);
    assert.equal(left.length, 2);
    assert.ok(!left.includes(taken[0]!), 'the oldest policy snapshot is destroyed');
    for (const snap of left) {
      assert.equal(await call('VM.get_is_snapshot_from_vmpp', snap), true);
      assert.match(await call('VM.get_name_label', snap), /^guarded-\d{8}-\d{4}$/);
    }
    // A snapshot taken by hand is not the policy's to prune.
    const own = String(await call('VM.snapshot', vm, 'by hand'));
    assert.equal(await call('VM.get_is_snapshot_from_vmpp', own), false);
    await call('VMPP.protect_now', p);
    assert.ok((await call('VM.get_snapshots', vm)).includes(own));
    const rec = await call('VMPP.get_record', p);
    assert.notEqual(rec.backup_last_run_time, '19700101T00:00:00Z');
    assert.match(rec.recent_alerts[0], /VMPP_SNAPSHOT_SUCCEEDED/);

    // Refusals: a policy with VMs, a template or snapshot, a protected VM made a template.
    await failsWith(call('VMPP.destroy', p), 'VMPP_HAS_VM', []);
    await failsWith(call('VM.set_protection_policy', own, p), 'VM_IS_TEMPLATE', [own]);
    await failsWith(call('VM.set_is_a_template', vm, true), 'VM_ASSIGNED_TO_PROTECTION_POLICY', [vm, p]);
    const dom0 = Object.entries(await call('VM.get_all_records') as Record<string, any>).find(([, r]) => r.is_control_domain)![0];
    await failsWith(call('VM.set_protection_policy', dom0, p), 'INVALID_VALUE', [p]);
    await call('VM.set_protection_policy', vm, 'OpaqueRef:NULL');
    await call('VMPP.destroy', p);
  });

  it('archiving: nothing to do without a target; a share this system cannot mount fails with an alert', async () => {
    const p = await newPolicy({ archive_target_type: 'nfs', archive_frequency: 'always_after_backup',
      archive_target_config: { location: 'srv:/export' } });
    const vm = await makeVm('archived');
    await call('VM.set_protection_policy', vm, p);
    await call('VMPP.protect_now', p);
    const snap = (await call('VM.get_snapshots', vm))[0];
    await failsWith(call('VMPP.archive_now', snap), 'XENAPI_PLUGIN_FAILURE');
    const alerts: string[] = await call('VMPP.get_alerts', p, 1);
    assert.ok(alerts.some((a) => a.includes('VMPP_ARCHIVE_TARGET_MOUNT_FAILED')), alerts.join('\n'));
    const messages = Object.values(await call('message.get_all_records') as Record<string, any>);
    assert.ok(messages.some((m) => m.name === 'VMPP_ARCHIVE_TARGET_MOUNT_FAILED' && m.cls === 'VMPP'));
    await call('VMPP.set_archive_target_type', p, 'none');
    assert.equal(await call('VMPP.archive_now', snap), '');
    await call('VM.set_protection_policy', vm, 'OpaqueRef:NULL');
    await call('VMPP.destroy', p);
  });

  it('xe vmpp-create, -list, -param-set/-get/-add/-remove, vm-param-set protection-policy and vmpp-destroy', async () => {
    const uuid = await s.xe.ok('vmpp-create', 'name-label=nightly', 'backup-type=snapshot', 'backup-frequency=daily',
      'backup-schedule:hour=2', 'backup-schedule:min=30', 'backup-retention-value=3');
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    assert.match(await s.xe.ok('vmpp-list', `uuid=${uuid}`), /nightly/);
    assert.equal(await s.xe.ok('vmpp-param-get', `uuid=${uuid}`, 'param-name=backup-schedule', 'param-key=hour'), '2');
    await s.xe.ok('vmpp-param-set', `uuid=${uuid}`, 'backup-retention-value=5', 'backup-schedule:min=45');
    assert.equal(await s.xe.ok('vmpp-param-get', `uuid=${uuid}`, 'param-name=backup-retention-value'), '5');
    assert.equal(await s.xe.ok('vmpp-param-get', `uuid=${uuid}`, 'param-name=backup-schedule', 'param-key=min'), '45');
    const bad = await s.xe('vmpp-param-set', `uuid=${uuid}`, 'backup-retention-value=12');
    assert.notEqual(bad.code, 0);
    assert.match(bad.out + bad.err, /INVALID_VALUE|value given is invalid/);
    await s.xe.ok('vmpp-param-set', `uuid=${uuid}`, 'backup-frequency=weekly');
    await s.xe.ok('vmpp-param-add', `uuid=${uuid}`, 'param-name=backup-schedule', 'days=Sunday');
    assert.equal(await s.xe.ok('vmpp-param-get', `uuid=${uuid}`, 'param-name=backup-schedule', 'param-key=days'), 'Sunday');
    await s.xe.ok('vmpp-param-remove', `uuid=${uuid}`, 'param-name=backup-schedule', 'param-key=days');
    assert.match(await s.xe.ok('vmpp-param-list', `uuid=${uuid}`), /archive-target-type.*none/);
    await s.xe.ok('vmpp-param-set', `uuid=${uuid}`, 'alarm-config:email_address=ops@example.com');
    await s.xe.ok('vmpp-param-clear', `uuid=${uuid}`, 'param-name=alarm-config');
    assert.equal(await s.xe.ok('vmpp-param-get', `uuid=${uuid}`, 'param-name=alarm-config'), '');
    const vm = await makeVm('xe-guarded');
    const vmUuid = String(await call('VM.get_uuid', vm));
    await s.xe.ok('vm-param-set', `uuid=${vmUuid}`, `protection-policy=${uuid}`);
    assert.equal(await s.xe.ok('vm-param-get', `uuid=${vmUuid}`, 'param-name=protection-policy'), uuid);
    const refused = await s.xe('vmpp-destroy', `uuid=${uuid}`);
    assert.notEqual(refused.code, 0);
    assert.match(refused.out + refused.err, /VMPP_HAS_VM|at least on VM/);
    await s.xe.ok('vm-param-set', `uuid=${vmUuid}`, 'protection-policy=');
    await s.xe.ok('vmpp-destroy', `uuid=${uuid}`);
    assert.equal(await s.xe.ok('vmpp-list', `uuid=${uuid}`), '');
  });
});

describe('VMPP scheduler', () => {
  let pool: LocalPool;
  before(async () => {
    pool = await startLocalPool({ hosts: 1 });
  });
  after(async () => {
    await pool?.stop();
  });

  it('a tick runs the policies whose time came since the last tick, and only those', async () => {
    let now = new Date(2026, 0, 5, 1, 50); // a Monday, 01:50 local time
    const scheduler = new VmppScheduler({ context: () => pool.ctx(), now: () => now });
    const create = (name: string, frequency: string, schedule: Record<string, string>) => pool.call('VMPP.create', {
      args: { name_label: name, backup_type: 'snapshot', backup_frequency: frequency, backup_schedule: schedule },
    }) as Promise<string>;
    const daily = await create('daily at 2:00', 'daily', { hour: '2', min: '0' });
    const hourly = await create('hourly at :15', 'hourly', { min: '15' });
    const weekly = await create('Tuesdays', 'weekly', { hour: '2', min: '0', days: 'Tuesday' });
    const vms = [daily, hourly, weekly].map((p) => {
      const vm = pool.makeVm({ name: `vm of ${p}`, srs: [] });
      pool.db.update('VM', vm, { protection_policy: p });
      return vm;
    });
    now = new Date(2026, 0, 5, 2, 5);
    assert.deepEqual(await scheduler.tick(), [daily]);
    assert.equal(pool.vm(vms[0]!).snapshots.length, 1);
    assert.equal(pool.vm(vms[2]!).snapshots.length, 0);
    now = new Date(2026, 0, 5, 2, 20);
    assert.deepEqual(await scheduler.tick(), [hourly]);
    now = new Date(2026, 0, 6, 2, 1); // Tuesday
    assert.deepEqual(new Set(await scheduler.tick()), new Set([daily, hourly, weekly]));
    pool.db.update('VMPP', weekly, { is_policy_enabled: false });
    now = new Date(2026, 0, 13, 2, 1);
    assert.ok(!(await scheduler.tick()).includes(weekly), 'a disabled policy does not run');
  });

  it('a checkpoint policy checkpoints a running VM; a VM that cannot be snapshotted is a failure alert and message', async () => {
    const p = String(await pool.call('VMPP.create', { args: { name_label: 'with memory', backup_type: 'checkpoint', backup_frequency: 'daily' } }));
    const running = pool.makeVm({ name: 'running', srs: [] });
    const broken = pool.makeVm({ name: 'broken', srs: [] });
    await pool.call('VM.start', { vm: running, start_paused: false, force: false });
    for (const vm of [running, broken]) await pool.call('VM.set_protection_policy', { self: vm, value: p });
    // A VM made a template behind the policy's back cannot be snapshotted any more.
    pool.db.update('VM', broken, { is_a_template: true });
    const answer = String(await pool.call('VMPP.protect_now', { vmpp: p }));
    assert.match(answer, /^failed: /);
    const [snap] = pool.vm(running).snapshots;
    assert.equal(pool.vm(snap).power_state, 'Suspended');
    assert.equal(pool.vm(snap).is_snapshot_from_vmpp, true);
    assert.equal(pool.vm(running).power_state, 'Running');
    const policy = pool.db.get('VMPP', p)!;
    assert.match(String(policy.recent_alerts![0]), /VMPP_SNAPSHOT_FAILED.*VM_IS_TEMPLATE/);
    const messages = [...pool.db.all('message')].map(([, m]) => m).filter((m) => m.obj_uuid === policy.uuid);
    assert.deepEqual(messages.map((m) => m.name), ['VMPP_SNAPSHOT_FAILED']);
    assert.equal(policy.is_backup_running, false);
    await pool.call('VM.hard_shutdown', { vm: running });
  });
});
