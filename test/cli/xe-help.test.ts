/**
 * `xe help` as a user reads it, answered without a server: the usage with its line breaks
 * (not escaped), the same option lines as the client's own usage (one source for both),
 * `xe help sr-create` naming host-uuid, and `xe help --all --minimal` listing the
 * administration commands. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/repo-root.js';

function xe(...args: string[]): { code: number | null; out: string; err: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: '/nonexistent' };
  delete env.XE_EXTRA_ARGS;
  const r = spawnSync(process.execPath, [join(repoRoot(), 'bin', 'xe'), ...args], { env, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const optionLines = (text: string) => text.split('\n').filter((l) => /^\s+\[ /.test(l));

describe('xe help', () => {
  it('prints the usage with real line breaks and the same options as the client usage', () => {
    const help = xe('help');
    assert.equal(help.code, 0, help.err);
    assert.doesNotMatch(help.out, /\\x0a/);
    assert.match(help.out, /^Usage:\n {2}xe <command>\n/);
    assert.match(help.out, /\nCommon command list\n-------------------\n/);
    const usage = xe('--help');
    const opts = optionLines(usage.out + usage.err);
    assert.ok(opts.length >= 8, usage.out + usage.err);
    assert.deepEqual(optionLines(help.out), opts);
  });

  it('names host-uuid among sr-create\'s optional parameters', () => {
    const r = xe('help', 'sr-create');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /optional params : .*\bhost-uuid\b/);
  });

  it('lists the administration commands', () => {
    const all = xe('help', '--all', '--minimal').out.trim().split(',');
    for (const c of ['vbd-destroy', 'vbd-plug', 'vbd-unplug', 'vm-memory-limits-set', 'vm-memory-static-range-set',
      'vm-memory-dynamic-range-set', 'vm-memory-target-set', 'vm-checkpoint', 'host-dmesg', 'host-forget', 'event-wait',
      'user-password-change', 'pool-sync-database', 'diagnostic-vm-status', 'diagnostic-vdi-status', 'log-get', 'host-logs-download', 'diagnostic-timing-stats',
      'diagnostic-gc-stats', 'diagnostic-compact', 'diagnostic-db-stats', 'log-set-output', 'log-get-keys', 'log-reopen']) {
      assert.ok(all.includes(c), `${c} missing from xe help --all`);
    }
  });

  it('gives log-set-output xe\'s grammar: output required, key and level optional', () => {
    const r = xe('help', 'log-set-output');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /reqd params\s*: output\b/);
    assert.match(r.out, /optional params\s*: key, level\b/);
    assert.match(r.out, /nil, stderr, string \(only the recent log log-get prints\), syslog\[:<facility>\] or file:/);
  });
});
