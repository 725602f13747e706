/**
 * `withoutOptimizer`, which an upload runs under: V8 optimises no function while the work
 * runs, and does again once it has ended, whether it succeeded or threw. Seen from a child
 * Node with V8's test intrinsics, which say whether a function has optimised code.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const helper = new URL('../../src/cli/commands/without-optimizer.js', import.meta.url).href;

/**
 * Each watched function is called hot from a loop kept out of the optimiser (which would
 * otherwise inline it), compiled on the main thread so the answer is there when asked.
 */
const script = `
import { withoutOptimizer } from ${JSON.stringify(helper)};
function during(x) { return x * 2 + 1; }
function afterSuccess(x) { return x * 2 + 1; }
function duringFailure(x) { return x * 2 + 1; }
function afterFailure(x) { return x * 2 + 1; }
function drive(f) { let s = 0; for (let i = 0; i < 300000; i++) s += f(i); return s; }
%NeverOptimizeFunction(drive);
const optimised = (f) => (%GetOptimizationStatus(f) & 16) !== 0;
await withoutOptimizer(async () => drive(during));
drive(afterSuccess);
await withoutOptimizer(async () => { drive(duringFailure); throw new Error('failed'); }).catch(() => undefined);
drive(afterFailure);
console.log(JSON.stringify({ during: optimised(during), afterSuccess: optimised(afterSuccess),
  duringFailure: optimised(duringFailure), afterFailure: optimised(afterFailure) }));
`;

describe('withoutOptimizer', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'islet-optimizer-')); });
  after(() => rm(dir, { recursive: true, force: true }));

  it('keeps V8 from optimising while the work runs, and only then', async () => {
    const file = join(dir, 'watch.mjs');
    await writeFile(file, script);
    const { stdout } = await run(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', file]);
    assert.deepEqual(JSON.parse(stdout), { during: false, afterSuccess: true, duringFailure: false, afterFailure: true });
  });
});
