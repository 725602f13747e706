/**
 * The crash torture suite, short: a few random kill -9 points of the process driving a
 * file SR and of a whole `islet server` during XenAPI operations, each followed by the
 * suite's checks (contents, no orphan files, no stuck task, resumable), and one kill -9 of
 * a pool master's toolstack during a rolling pool update (the run resumes and ends done, or
 * paused saying why; no VM lost or stopped). The full run is `npm run torture -- crash`
 * (200 storage trials, 28 toolstack trials and 3 rolling update trials).
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

  it('a master killed during a rolling pool update resumes it or says why it stopped, and loses no VM', async () => {
    const r = await runCrash({ storageTrials: 0, toolstackTrials: 0, rollingTrials: 1 });
    assert.deepEqual(r.failures, [], formatResult(r));
    assert.ok(r.figures.some(([l, v]) => l === 'rolling update trials' && /^1 \(run ended: \w+ 1\), 0 failed$/.test(String(v))), formatResult(r));
  });
});
