/**
 * The VM operation rules on their own: which power states each operation needs, which
 * operations may overlap, the errors in xapi's order and spelling, and the resulting
 * `allowed_operations`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allowedConcurrently, allowedPowerStates, computeAllowedOperations, vmOperationError, type VmOpView,
} from '../../src/core/vm-operations.js';

const vm = (o: Partial<VmOpView> = {}): VmOpView => ({
  power_state: 'Halted', current_operations: {}, blocked_operations: {}, is_a_template: false, is_a_snapshot: false, ...o,
});

describe('vm operation rules', () => {
  it('knows the power states each operation needs', () => {
    assert.deepEqual(allowedPowerStates('start'), ['Halted']);
    assert.deepEqual(allowedPowerStates('pool_migrate'), ['Running']);
    assert.deepEqual(allowedPowerStates('hard_shutdown'), ['Paused', 'Suspended', 'Running']);
    assert.deepEqual(allowedPowerStates('hard_reboot'), ['Paused', 'Running']);
    assert.deepEqual(allowedPowerStates('clone', true), ['Halted', 'Suspended']);
  });

  it('spells VM_BAD_POWER_STATE as xapi does: lower case, expected states joined', () => {
    assert.deepEqual(vmOperationError('OpaqueRef:v', vm({ power_state: 'Running' }), 'start'),
      ['VM_BAD_POWER_STATE', ['OpaqueRef:v', 'halted', 'running']]);
    assert.deepEqual(vmOperationError('OpaqueRef:v', vm(), 'hard_shutdown'),
      ['VM_BAD_POWER_STATE', ['OpaqueRef:v', 'paused, suspended, running', 'halted']]);
  });

  it('lets a hard stop cut through a clean one, and nothing else overlap', () => {
    assert.equal(allowedConcurrently('hard_shutdown', ['clean_shutdown']), true);
    assert.equal(allowedConcurrently('hard_reboot', ['clean_reboot']), true);
    assert.equal(allowedConcurrently('hard_shutdown', ['hard_shutdown']), false);
    assert.equal(allowedConcurrently('hard_reboot', ['hard_shutdown']), false);
    assert.equal(allowedConcurrently('pause', ['clean_shutdown']), false);
    assert.equal(allowedConcurrently('clone', ['copy', 'export']), true);
    assert.equal(allowedConcurrently('snapshot', ['checkpoint']), true);
    const busy = vm({ power_state: 'Running', current_operations: { 'OpaqueRef:t': 'pool_migrate' } });
    assert.deepEqual(vmOperationError('OpaqueRef:v', busy, 'suspend'),
      ['OTHER_OPERATION_IN_PROGRESS', ['VM', 'OpaqueRef:v', 'pool_migrate', 'OpaqueRef:t']]);
    const two = vm({ power_state: 'Running', current_operations: { a: 'clean_shutdown', b: 'hard_shutdown' } });
    assert.deepEqual(vmOperationError('v', two, 'pause'), ['OTHER_OPERATION_IN_PROGRESS', ['VM', 'v', '{clean_shutdown,hard_shutdown}', '{a,b}']]);
  });

  it('puts blocked operations first and templates after the power state', () => {
    assert.deepEqual(vmOperationError('v', vm({ blocked_operations: { start: 'maintenance' } }), 'start'),
      ['OPERATION_BLOCKED', ['v', 'maintenance']]);
    assert.deepEqual(vmOperationError('v', vm({ is_a_template: true }), 'start'), ['VM_IS_TEMPLATE', ['v']]);
    assert.deepEqual(vmOperationError('v', vm({ is_a_template: true, power_state: 'Running' }), 'start')?.[0], 'VM_BAD_POWER_STATE');
  });

  it('lists what may start now in allowed_operations', () => {
    const halted = computeAllowedOperations('v', vm());
    assert.ok(halted.includes('start') && halted.includes('start_on') && halted.includes('destroy'));
    assert.ok(!halted.includes('clean_shutdown') && !halted.includes('provision') && !halted.includes('revert'));
    const running = computeAllowedOperations('v', vm({ power_state: 'Running' }));
    assert.ok(running.includes('pool_migrate') && running.includes('suspend') && !running.includes('start'));
    const migrating = computeAllowedOperations('v', vm({ power_state: 'Running', current_operations: { t: 'pool_migrate' } }));
    assert.deepEqual(migrating, ['hard_shutdown', 'hard_reboot']);
    const tpl = computeAllowedOperations('v', vm({ is_a_template: true }));
    assert.ok(tpl.includes('clone') && tpl.includes('provision') && !tpl.includes('start'));
  });
});
