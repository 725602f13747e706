#!/usr/bin/env node
// Runs the compiled test suite with node's own runner. Tests keep their data (SRs, pool
// databases, VHD chains) in temporary directories; on a machine with a tmpfs at /dev/shm
// those go there, because the storage tests fsync thousands of times and a slow disk would
// turn minutes into a quarter of an hour without testing anything more. Crash tests kill
// processes, not the machine, so the page cache is as durable as a disk for them.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statfsSync } from 'node:fs';

function fastTmp() {
  if (process.env.ISLET_TEST_TMPDIR) return process.env.ISLET_TEST_TMPDIR;
  try {
    accessSync('/dev/shm', constants.W_OK);
    const s = statfsSync('/dev/shm');
    if (s.bavail * s.bsize >= 4 * 1024 ** 3) return '/dev/shm';
  } catch {
    // no tmpfs: the default temporary directory will do
  }
  return undefined;
}

// A test that hangs (an await for an event that never comes) fails after this long instead
// of hanging CI; ISLET_TEST_TIMEOUT_MS overrides it for a slow machine.
const TEST_TIMEOUT_MS = Number(process.env.ISLET_TEST_TIMEOUT_MS) || 10 * 60 * 1000;

const tmp = fastTmp();
const env = { ...process.env, ...(tmp ? { TMPDIR: tmp } : {}) };
const args = ['--test', '--test-concurrency=2', `--test-timeout=${TEST_TIMEOUT_MS}`, ...process.argv.slice(2), 'dist/test/'];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env });
process.exit(r.status ?? 1);
