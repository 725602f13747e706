/**
 * The event-wait helper fails with a message naming what was awaited when the event does
 * not come, and resolves with the event's value when it does; the runner sets a default
 * per-test timeout.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventWithin } from '../helpers/event-wait.js';
import { repoRoot } from '../helpers/repo-root.js';

test('an event that never comes fails with a message', async () => {
  await assert.rejects(eventWithin(new EventEmitter(), 'close', 'the peer to hang up', 20), /waited 20 ms for the peer to hang up \('close'\)/);
});

test('an event that comes resolves with its value', async () => {
  const e = new EventEmitter();
  setImmediate(() => e.emit('data', 42));
  assert.equal(await eventWithin<number>(e, 'data', 'a number', 5_000), 42);
});

test('npm test runs with a default timeout, per test under node --test and per file in its planned order', () => {
  const script = readFileSync(join(repoRoot(), 'scripts/run-tests.mjs'), 'utf8');
  assert.match(script, /--test-timeout=\$\{TEST_TIMEOUT_MS\}/);
  assert.match(script, /run\(\{ files, concurrency: CONCURRENCY, timeout: TEST_TIMEOUT_MS \}\)/);
});
