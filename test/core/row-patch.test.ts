/**
 * What counts as a change of a record: a value the record already holds (a map with its keys
 * in another order, an equal list) is left out of the patch, anything else goes in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedFields, holdsValue } from '../../src/core/row-patch.js';

describe('row patches', () => {
  it('holds equal values: scalars, lists in order, maps in any order', () => {
    assert.ok(holdsValue(4096, 4096));
    assert.ok(holdsValue('a', 'a'));
    assert.ok(holdsValue(undefined, undefined));
    assert.ok(holdsValue(['x', 'y'], ['x', 'y']));
    assert.ok(holdsValue({ allocation: 'thin', 'vhd-parent': 'p' }, { 'vhd-parent': 'p', allocation: 'thin' }));
    assert.ok(holdsValue({ a: { b: [1, 2] } }, { a: { b: [1, 2] } }));
  });

  it('does not hold different values, types, lengths or keys', () => {
    assert.ok(!holdsValue(4096, 8192));
    assert.ok(!holdsValue('1', 1));
    assert.ok(!holdsValue(null, {}));
    assert.ok(!holdsValue(['x', 'y'], ['y', 'x']));
    assert.ok(!holdsValue(['x'], { 0: 'x' }));
    assert.ok(!holdsValue({ a: '1' }, { a: '1', b: '2' }));
    assert.ok(!holdsValue({ a: '1', b: '2' }, { a: '1', c: '2' }));
    assert.ok(!holdsValue({ a: '1' }, { a: '2' }));
  });

  it('a patch holds only the fields that change', () => {
    const have = { virtual_size: 8, physical_utilisation: 4, sm_config: { allocation: 'thin', x: 'y' }, missing: false, name_label: 'kept' };
    assert.deepEqual(changedFields(have, { virtual_size: 8, physical_utilisation: 4, sm_config: { x: 'y', allocation: 'thin' }, missing: false }), {});
    assert.deepEqual(
      changedFields(have, { virtual_size: 8, physical_utilisation: 6, sm_config: { allocation: 'thick', x: 'y' }, location: 'l' }),
      { physical_utilisation: 6, sm_config: { allocation: 'thick', x: 'y' }, location: 'l' },
    );
  });
});
