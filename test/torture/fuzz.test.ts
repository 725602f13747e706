/**
 * The fuzz torture suite, short: the regression corpus (every crash or hang the fuzzer
 * ever saved) is replayed and must pass, then each target fuzzes for two seconds with
 * findings going to a temporary corpus, and none may be found. The full run is
 * `npm run torture -- fuzz` (30 s per target).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { regressionDir, runFuzz } from '../../torture/fuzz/fuzz-suite.js';
import { replayCorpus } from '../../torture/fuzz/replay.js';
import { fuzzTargets } from '../../torture/fuzz/targets.js';
import { formatResult } from '../../torture/suite-result.js';

describe('torture: fuzz (short run)', () => {
  let scratch: string | undefined;
  after(async () => { if (scratch) await rm(scratch, { recursive: true, force: true }); });

  it('every saved crash or hang input now passes its target', async () => {
    const r = await replayCorpus(regressionDir());
    assert.deepEqual(r.failures, [], `${r.replayed} replayed`);
  });

  it('each target survives a short run with no finding', async () => {
    scratch = await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), 'islet-fuzz-test-'));
    const r = await runFuzz({ seconds: 2, corpusDir: scratch });
    assert.deepEqual(r.failures, [], formatResult(r));
    for (const t of fuzzTargets) {
      const line = r.figures.find(([l]) => l === t.name);
      assert.ok(line && Number(String(line[1]).split(' ')[0]) > 0, `${t.name} ran: ${formatResult(r)}`);
    }
  });
});
