/**
 * The permission catalogue follows from the datamodel: every message some role may call
 * is exactly one permission, held by exactly the roles on that message's list, and the
 * uuids are XenServer's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allPermissions, builtinRoleIsInternal, builtinRoleUuid, md5Uuid, permissionByName, permissionByRef, permissionByUuid,
  permissionName, permissionsOf, POOL_ADMIN_UUID,
} from '../../src/core/role-catalogue.js';
import { allMessages } from '../../src/datamodel/implicit.js';
import { classes } from '../../src/datamodel/index.js';
import { Roles } from '../../src/datamodel/roles.js';

describe('role catalogue', () => {
  const messages = classes.flatMap((c) => allMessages(c).map((m) => ({ c, m, wire: `${c.name}.${m.name}` })));

  it('maps every message a role may call to exactly one permission, and no other message to any', () => {
    const byWire = new Map<string, number>();
    for (const p of allPermissions()) byWire.set(p.wireName, (byWire.get(p.wireName) ?? 0) + 1);
    const callable = messages.filter(({ m }) => m.roles.length > 0);
    for (const { c, m, wire } of callable) {
      assert.equal(byWire.get(wire), 1, `${wire} has ${byWire.get(wire) ?? 0} permissions`);
      const p = permissionByName(permissionName(c, m));
      assert.equal(p?.wireName, wire);
      assert.deepEqual(p.roles, m.roles, `${wire}: the permission's roles are the message's`);
    }
    // Local-root-only messages (no role on their list) are no permission, as in xapi.
    for (const { wire } of messages.filter(({ m }) => m.roles.length === 0)) assert.equal(byWire.get(wire), undefined, wire);
    assert.equal(allPermissions().length, callable.length);
    assert.ok(allPermissions().length > 1000, `only ${allPermissions().length} permissions`);
  });

  it('names permissions as xapi does, lower-cased, uniquely', () => {
    assert.equal(permissionByName('vm.start')?.wireName, 'VM.start');
    assert.equal(permissionByName('vm.get_record')?.wireName, 'VM.get_record');
    const names = allPermissions().map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.every((n) => n === n.toLowerCase()));
  });

  it('gives each role the permissions whose message lists it, and the chain nests', () => {
    for (const role of Roles) {
      const expected = messages.filter(({ m }) => m.roles.includes(role)).map(({ wire }) => wire).sort();
      assert.deepEqual(permissionsOf(role).map((p) => p.wireName).sort(), expected, role);
    }
    const chain = Roles.filter((r) => r !== 'client-cert');
    for (let i = 0; i + 1 < chain.length; i++) {
      const stronger = new Set(permissionsOf(chain[i]!).map((p) => p.name));
      const weaker = permissionsOf(chain[i + 1]!);
      assert.ok(weaker.every((p) => stronger.has(p.name)), `${chain[i]} holds everything ${chain[i + 1]} holds`);
      assert.ok(stronger.size > weaker.length, `${chain[i]} holds more than ${chain[i + 1]}`);
    }
  });

  it('uses XenServer\'s uuids and refs, the same on every run', () => {
    assert.equal(builtinRoleUuid('pool-admin'), POOL_ADMIN_UUID);
    assert.equal(builtinRoleUuid('read-only'), '7233b8e3-eacb-d7da-2c95-f2e581cdbf4e');
    assert.equal(md5Uuid('VM.start'), permissionByName('vm.start')!.uuid);
    const p = permissionByName('vm.start')!;
    assert.equal(p.ref, `OpaqueRef:${p.uuid}`);
    assert.equal(permissionByRef(p.ref), p);
    assert.equal(permissionByUuid(p.uuid), p);
    const uuids = allPermissions().map((x) => x.uuid);
    assert.equal(new Set(uuids).size, uuids.length);
    assert.ok(!uuids.some((u) => Roles.some((r) => builtinRoleUuid(r) === u)));
    assert.deepEqual(Roles.filter(builtinRoleIsInternal), ['client-cert']);
  });
});
