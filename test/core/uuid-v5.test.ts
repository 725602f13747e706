/**
 * Name-based uuids against an independent implementation: Python's `uuid.uuid5`, run as a
 * separate process, for the RFC's DNS namespace and for Islet's twin namespace.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { uuidV5 } from '../../src/core/uuid-v5.js';
import { TWIN_NAMESPACE, twinUuid } from '../../src/updates/patch-records.js';

const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

function python(pairs: ReadonlyArray<readonly [string, string]>): string[] {
  const script = 'import sys, json, uuid\nfor ns, name in json.load(sys.stdin): print(uuid.uuid5(uuid.UUID(ns), name))';
  return execFileSync('python3', ['-c', script], { input: JSON.stringify(pairs) }).toString().trim().split('\n');
}

describe('uuidV5', () => {
  it('gives what Python\'s uuid.uuid5 gives', () => {
    const pairs = [
      [DNS, 'python.org'], [DNS, ''], [DNS, 'é ünïcode ✓'],
      [TWIN_NAMESPACE, 'pool_update:3f0c6b9e-32a1-4d7e-9d55-0f1d8c1e2a77'], [TWIN_NAMESPACE, 'x'.repeat(300)],
    ] as const;
    assert.deepEqual(pairs.map(([ns, n]) => uuidV5(ns, n)), python(pairs));
  });

  it('a twin uuid is a version-5 uuid, the same for either spelling of the patch uuid, never the patch uuid', () => {
    const patch = '3F0C6B9E-32A1-4D7E-9D55-0F1D8C1E2A77';
    const t = twinUuid(patch);
    assert.match(t, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(t, twinUuid(patch.toLowerCase()));
    assert.notEqual(t, patch.toLowerCase());
    assert.notEqual(twinUuid('3f0c6b9e-32a1-4d7e-9d55-0f1d8c1e2a78'), t);
  });

  it('refuses a namespace that is not a uuid', () => {
    assert.throws(() => uuidV5('not-a-uuid', 'x'), /not a uuid/);
  });
});
