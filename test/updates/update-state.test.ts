/**
 * Derived update state: guidance pending until the toolstack restart or reboot that
 * satisfies it, what is in effect and what it adds to software_version, and XenCenter's
 * "Fully applied" rule.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { patchStatus } from '../../src/updates/patch-status.js';
import { hostUpdateState, type AppliedUpdate } from '../../src/updates/update-state.js';

const upd = (uuid: string, appliedAt: number, guidance: string[]): AppliedUpdate => ({
  uuid, update: `OpaqueRef:${uuid}`, appliedAt, guidance, softwareVersion: { [`xs:${uuid}`]: `${uuid}, version 1` },
});

describe('pending guidance', () => {
  it('restartXAPI is pending until the toolstack restarts after the apply', () => {
    const before = hostUpdateState([upd('a', 100, ['restartXAPI'])], { bootTime: 10, agentStartTime: 50 });
    assert.deepEqual(before.pending, ['restartXAPI']);
    assert.deepEqual(before.pendingGuidances, ['restart_toolstack']);
    assert.deepEqual(before.effective, []);
    assert.deepEqual(before.softwareVersion, {});
    const after = hostUpdateState([upd('a', 100, ['restartXAPI'])], { bootTime: 10, agentStartTime: 150 });
    assert.deepEqual(after.pending, []);
    assert.deepEqual(after.effective, ['a']);
    assert.deepEqual(after.softwareVersion, { 'xs:a': 'a, version 1' });
  });

  it('restartHost is pending until a reboot, which a toolstack restart does not satisfy', () => {
    const u = [upd('b', 100, ['restartHost'])];
    const st = hostUpdateState(u, { bootTime: 10, agentStartTime: 150 });
    assert.deepEqual(st.pendingGuidances, ['reboot_host']);
    assert.deepEqual(st.updatesRequiringReboot, ['OpaqueRef:b']);
    const rebooted = hostUpdateState(u, { bootTime: 160, agentStartTime: 170 });
    assert.deepEqual(rebooted.pending, []);
    assert.deepEqual(rebooted.updatesRequiringReboot, []);
  });

  it('VM guidance is pending until the host reboots, but the update is in effect', () => {
    const st = hostUpdateState([upd('c', 100, ['restartHVM', 'restartPV'])], { bootTime: 10, agentStartTime: 50 });
    assert.deepEqual(st.pending, ['restartHVM', 'restartPV']);
    assert.deepEqual(st.pendingGuidances, ['restart_vm']);
    assert.deepEqual(st.effective, ['c']);
  });
});

describe('XenCenter\'s applied state', () => {
  it('counts host_patches before API 2.6 and pool_update.hosts from 2.6', () => {
    const old = { major: 1, minor: 9 };
    assert.equal(patchStatus({ hostCount: 3, apiVersion: old, hostPatches: ['a', 'b', 'c'] }), 'Fully applied');
    assert.equal(patchStatus({ hostCount: 3, apiVersion: old, hostPatches: ['a'] }), 'Partially applied');
    assert.equal(patchStatus({ hostCount: 3, apiVersion: old, hostPatches: [] }), 'Not applied');
    const v26 = { major: 2, minor: 6 };
    assert.equal(patchStatus({ hostCount: 2, apiVersion: v26, hostPatches: [], updateHosts: ['x', 'y'] }), 'Fully applied');
    assert.equal(patchStatus({ hostCount: 2, apiVersion: v26, hostPatches: ['a', 'b'], updateHosts: [] }), 'Not applied');
  });
});
