/**
 * The benches' ratio line: a ratio below its goal is marked `!`, and a miss that two
 * decimals would round up to the goal is printed with the digits that show it is below.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ratio } from '../../bench/nbd-bench-kit.js';

test('a met goal is unmarked, a missed one marked', () => {
  assert.equal(ratio(1.234, 1), '1.23 (goal >= 1.00)');
  assert.equal(ratio(0.6, 0.6), '0.60 (goal >= 0.60)');
  assert.equal(ratio(0.87, 1), '0.87! (goal >= 1.00)');
});

test('a miss that rounds up to the goal shows the digits that tell it apart', () => {
  assert.equal(ratio(0.598, 0.6), '0.598! (goal >= 0.60)');
  assert.equal(ratio(0.79996, 0.8), '0.79996! (goal >= 0.80)');
});
