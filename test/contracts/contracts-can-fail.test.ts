/**
 * Each contract suite in this folder fails when an adapter breaks its contract: the suite
 * is run, in a child test runner, against the deliberately broken adapter of
 * `broken-adapters.ts`, and the run must fail on the test that guards the broken promise
 * (and only on tests: the suite itself must start and end).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const BROKEN = fileURLToPath(new URL('./broken-adapters.js', import.meta.url));

/** Runs the named suite against its broken adapter; the child's exit code and TAP output. */
function runBroken(suite: string, timeoutMs = 240_000): Promise<{ code: number | null; tap: string }> {
  return new Promise((resolve, reject) => {
    // A runner of its own: without this the child would report to ours and run nothing.
    const env: NodeJS.ProcessEnv = { ...process.env, ISLET_CONTRACT_SELF_CHECK: suite };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, ['--test-reporter=tap', BROKEN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tap = '';
    child.stdout.on('data', (d: Buffer) => { tap += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { tap += d.toString(); });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${suite} suite against its broken adapter did not end in ${timeoutMs / 1000} s:\n${tap}`));
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, tap }); });
  });
}

/** The names of the tests that failed, from TAP. */
function failed(tap: string): string[] {
  return [...tap.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]!.trim());
}

const EXPECTED: ReadonlyArray<readonly [suite: string, failingTest: RegExp]> = [
  ['nbd-export', /^what a client writes is what the next connection reads/],
  ['update-store', /^a second copy of a kept update/],
  ['pool-link', /^a failure is the same XenAPI error/],
  ['updates-port', /^an internal session is a session of this host until it is closed/],
  ['pool-membership', /^a long poll for database changes is woken by a write, and answers at once when its toolstack stops/],
];

describe('contract suites can fail', { timeout: 600_000 }, () => {
  for (const [suite, test] of EXPECTED) {
    it(`${suite}: the broken adapter fails "${test.source.replace(/^\^/, '')}"`, async () => {
      const r = await runBroken(suite);
      assert.notEqual(r.code, 0, `the ${suite} suite passed a broken adapter:\n${r.tap}`);
      const bad = failed(r.tap);
      assert.ok(bad.some((n) => test.test(n)), `expected ${test} among the failures ${JSON.stringify(bad)}:\n${r.tap.slice(-3000)}`);
      assert.match(r.tap, /^# pass [1-9]/m, 'the rest of the suite ran and passed');
    });
  }
});
