/**
 * The load torture suite, short: 24 mixed JSON-RPC/XML-RPC clients (watchers among them)
 * for a few seconds against a real server, with no undeclared error. The full run is
 * `npm run torture -- load` (200 clients, 60 s).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runLoad } from '../../torture/load.js';
import { formatResult } from '../../torture/suite-result.js';

describe('torture: load (short run)', () => {
  it('mixed clients and event.from watchers get no undeclared error', async () => {
    const r = await runLoad({ clients: 24, seconds: 4, vms: 6 });
    assert.deepEqual(r.failures, [], formatResult(r));
    const requests = r.figures.find(([l]) => l === 'requests');
    assert.ok(requests && Number(String(requests[1]).split(' ')[0]) > 0, formatResult(r));
    // The memory probe answered at warm-up and at the end (the 10 % bound is judged on runs of 20 s or more).
    const kept = r.figures.find(([l]) => l === 'server retained');
    assert.match(String(kept?.[1]), /^RSS \d+\.\d MiB -> \d+\.\d MiB/, formatResult(r));
  });
});
