/**
 * Roles and their permissions through a real server, as XenAPI shows them: a permission
 * is a role record without subroles named after one call; role.get_permissions expands a
 * role, role.get_by_permission(_name_label) finds the roles holding one, and both agree
 * with the role lists of the datamodel that RBAC enforces. The permissions are not rows:
 * event.from carries the seven roles only. xe role-list shows the roles, not permissions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findMessage } from '../../src/datamodel/implicit.js';
import { Roles } from '../../src/datamodel/roles.js';
import { call, jsonRpc, login } from '../helpers/rpc.js';
import { startXeServer, type XeServer } from '../helpers/xe.js';

const PW = 'role-perms-pw';

describe('role permissions', () => {
  let s: XeServer;
  let url: string;
  let root: string;
  const rpc = (method: string, ...params: unknown[]): Promise<any> => call(url, method, root, ...params);
  const roleRef = async (name: string): Promise<string> => {
    const refs = (await rpc('role.get_by_name_label', name)) as string[];
    assert.equal(refs.length, 1, `one record is called ${name}`);
    return refs[0]!;
  };
  // One call for all names: a call per permission would be a thousand calls at once.
  const names = async (refs: string[]): Promise<string[]> => {
    const all = (await rpc('role.get_all_records')) as Record<string, { name_label: string }>;
    return refs.map((r) => all[r]!.name_label);
  };

  before(async () => {
    s = await startXeServer({ password: PW });
    url = s.islet.url;
    root = await login(url, PW);
  });
  after(async () => s?.stop());

  it('gives pool-admin every permission read-only has, and more', async () => {
    const admin = new Set<string>(await rpc('role.get_permissions_name_label', await roleRef('pool-admin')));
    const reader = (await rpc('role.get_permissions_name_label', await roleRef('read-only'))) as string[];
    assert.ok(reader.length > 100, `read-only holds ${reader.length}`);
    assert.deepEqual(reader.filter((p) => !admin.has(p)), []);
    assert.ok(admin.size > reader.length);
    // get_permissions gives the same set, as refs.
    const refs = (await rpc('role.get_permissions', await roleRef('read-only'))) as string[];
    assert.deepEqual((await names(refs)).sort(), [...reader].sort());
  });

  it('lists a subject session\'s permissions in rbac_permissions, and none for root', async () => {
    await rpc('subject.islet_create_local_user', 'operator', 'operator-pw', await roleRef('vm-operator'));
    const op = await login(url, 'operator-pw', 'operator');
    const held = new Set<string>(await call(url, 'session.get_rbac_permissions', op, op));
    assert.deepEqual([...held].sort(), [...await rpc('role.get_permissions_name_label', await roleRef('vm-operator'))].sort());
    assert.ok(held.has('vm.start') && !held.has('vm.destroy'));
    assert.deepEqual(await rpc('session.get_rbac_permissions', root), []);
  });

  it('lets read-only read and not change or run', async () => {
    const reader = new Set<string>(await rpc('role.get_permissions_name_label', await roleRef('read-only')));
    for (const p of ['vm.get_record', 'vm.get_all_records', 'host.get_name_label', 'role.get_permissions']) assert.ok(reader.has(p), p);
    for (const p of ['vm.destroy', 'vm.start', 'host.set_name_label', 'subject.add_to_roles']) assert.ok(!reader.has(p), p);
  });

  it('finds exactly the roles the datamodel lets call VM.start, by name and by ref', async () => {
    const expected = findMessage('VM', 'start')!.roles;
    assert.ok(expected.length > 0 && expected.length < Roles.length);
    const byName = (await rpc('role.get_by_permission_name_label', 'vm.start')) as string[];
    assert.deepEqual(await names(byName), [...expected]);
    const permission = await roleRef('vm.start');
    const byRef = (await rpc('role.get_by_permission', permission)) as string[];
    assert.deepEqual(byRef, byName);
    // ...and the same for a permission every role holds, the implicit getters included.
    const everyone = (await rpc('role.get_by_permission_name_label', 'vm.get_record')) as string[];
    assert.deepEqual(await names(everyone), [...findMessage('VM', 'get_record')!.roles]);
  });

  it('answers an unknown permission name with no roles, as xapi does, and an unknown ref with HANDLE_INVALID', async () => {
    assert.deepEqual(await rpc('role.get_by_permission_name_label', 'vm.no_such_call'), []);
    assert.deepEqual(await rpc('role.get_by_permission', 'OpaqueRef:00000000-0000-0000-0000-000000000000'), []);
    const r = await jsonRpc(url, 'role.get_permissions', [root, 'OpaqueRef:no-such-role']);
    assert.equal(r.error.message, 'HANDLE_INVALID');
    assert.deepEqual(r.error.data, ['role', 'OpaqueRef:no-such-role']);
    const u = await jsonRpc(url, 'role.get_by_uuid', [root, '00000000-0000-0000-0000-000000000000']);
    assert.equal(u.error.message, 'UUID_INVALID');
  });

  it('shows a permission as a role record without subroles, found by uuid, holding itself', async () => {
    const p = await roleRef('vm.start');
    const rec = await rpc('role.get_record', p);
    assert.equal(rec.name_label, 'vm.start');
    assert.deepEqual(rec.subroles, []);
    assert.equal(rec.is_internal, true);
    assert.equal(p, `OpaqueRef:${rec.uuid}`);
    assert.equal(await rpc('role.get_by_uuid', rec.uuid), p);
    assert.deepEqual(await rpc('role.get_subroles', p), []);
    assert.deepEqual(await rpc('role.get_permissions', p), [p]);
    // A role is no permission: nothing holds it.
    assert.deepEqual(await rpc('role.get_by_permission', await roleRef('vm-admin')), []);
    // A role's record lists its permissions as subroles.
    const admin = await rpc('role.get_record', await roleRef('vm-admin'));
    assert.deepEqual([...admin.subroles].sort(), [...(await rpc('role.get_permissions', await roleRef('vm-admin')))].sort());
    assert.equal(await rpc('role.get_is_internal', await roleRef('client-cert')), true);
    assert.equal(await rpc('role.get_is_internal', await roleRef('pool-admin')), false);
  });

  it('lists roles and permissions together, and apart with xapi\'s two expressions', async () => {
    const all = (await rpc('role.get_all')) as string[];
    const roles = await rpc('role.get_all_records_where', 'subroles<>[]');
    const perms = await rpc('role.get_all_records_where', 'subroles=[]');
    assert.deepEqual(Object.values(roles).map((r: any) => r.name_label), [...Roles]);
    assert.equal(Object.keys(roles).length + Object.keys(perms).length, all.length);
    assert.ok(Object.values(perms).every((r: any) => r.subroles.length === 0 && r.name_label.includes('.')));
    assert.equal(Object.keys(await rpc('role.get_all_records')).length, all.length);
    // Any other expression is a filter over both.
    const one = await rpc('role.get_all_records_where', 'field "name_label"="vm.start"');
    assert.deepEqual(Object.keys(one), [await roleRef('vm.start')]);
  });

  it('keeps permissions out of the event stream', async () => {
    const r = await rpc('event.from', ['role'], '', 0);
    assert.deepEqual(r.events.map((e: any) => e.snapshot.name_label), [...Roles]);
  });

  it('expands a subject\'s roles into permission names, and RBAC agrees with them', async () => {
    const subject = await rpc('subject.islet_create_local_user', 'perm-reader', 'perm-reader-pw', await roleRef('read-only'));
    const held = new Set<string>(await rpc('subject.get_permissions_name_label', subject));
    assert.deepEqual([...held].sort(), [...(await rpc('role.get_permissions_name_label', await roleRef('read-only')))].sort());
    const session = await login(url, 'perm-reader-pw', 'perm-reader');
    const [vm] = (await call(url, 'VM.get_all', session)) as string[];
    assert.ok(held.has('vm.get_name_label'));
    assert.equal(typeof (await call(url, 'VM.get_name_label', session, vm)), 'string');
    assert.ok(!held.has('vm.set_name_label'));
    const denied = await jsonRpc(url, 'VM.set_name_label', [session, vm, 'x']);
    assert.equal(denied.error.message, 'RBAC_PERMISSION_DENIED');
  });

  it('xe role-list prints the roles with xe\'s fields, not the permissions', async () => {
    const out = await s.xe.ok('role-list');
    const listed = [...out.matchAll(/^\s*name \( RO\): (.*)$/gm)].map((m) => m[1]);
    assert.deepEqual(listed, [...Roles]);
    assert.match(out, /^uuid \( RO\)\s*: 0165f154-ba3e-034e-6b27-5d271af109ba$/m);
    assert.match(out, /description \( RO\): See everything, change nothing/);
    assert.doesNotMatch(out, /subroles/);
    const uuid = await s.xe.ok('role-list', 'name=vm-admin', '--minimal');
    assert.equal(uuid, await rpc('role.get_uuid', await roleRef('vm-admin')));
  });
});
