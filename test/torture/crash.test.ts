/**
 * The crash torture suite, short: a few random kill -9 points of the process driving a
 * file SR and of a whole `islet server` during XenAPI operations, each followed by the
 * suite's checks (contents, no orphan files, no stuck task, resumable). The full run is
 * `npm run torture -- crash` (200 storage trials and 24 toolstack trials).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCrash } from '../../torture/crash/crash-suite.js';
import { formatResult } from '../../torture/suite-result.js';

describe('torture: crash (short run)', () => {
  it('random kill -9 points lose nothing and every run resumes', async () => {
    const r = await runCrash({ storageTrials: 6, toolstackTrials: 2 });
    assert.deepEqual(r.failures, [], formatResult(r));
    assert.ok(r.figures.some(([l]) => l === 'toolstack trials'), formatResult(r));
  });
});
