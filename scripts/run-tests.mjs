#!/usr/bin/env node
// Runs the compiled test suite with node's own runner. Tests keep their data (SRs, pool
// databases, VHD chains) in temporary directories; on a machine with a tmpfs at /dev/shm
// those go there, because the storage tests fsync thousands of times and a slow disk would
// turn minutes into a quarter of an hour without testing anything more. Crash tests kill
// processes, not the machine, so the page cache is as durable as a disk for them.
//
// Without arguments every test file (`*.test.js`) under dist/test/ runs, two at a time, in
// an order planned from how long each took before (scripts/test-weights.json): a file that
// takes a minute starts early, so that it does not end the run alone, and never while
// another such file runs if short ones are left to run beside it (two pools of hosts at
// once on two cores slow each other down). With arguments node's own `--test` runs: the
// files or directories given, or with options alone (a name pattern) every test file under
// dist/test/. Only test files: node's runner, given a directory named test, would also run
// each fixture and helper module there, and count each as a passing test though it tests
// nothing.
// ISLET_TEST_WEIGHTS_OUT=FILE writes this run's seconds per file, to refresh the weights;
// ISLET_TEST_SLOWEST=1 lists the 25 slowest after the summary.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { run } from 'node:test';
import { tap } from 'node:test/reporters';

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
// of hanging CI; ISLET_TEST_TIMEOUT_MS overrides it for a slow machine. node's runner applies
// it per test with --test-timeout, and per file when this script plans the order itself.
const TEST_TIMEOUT_MS = Number(process.env.ISLET_TEST_TIMEOUT_MS) || 10 * 60 * 1000;
const CONCURRENCY = 2;
/** Seconds from which a file counts as long (a pool of hosts, a browser, a torture run). */
const LONG_S = 20;
/** The weight of a file the table does not know: most files take a few seconds. */
const UNKNOWN_S = 2;

const tmp = fastTmp();

// Every Node process a test starts (each test file, each server, each pool host) would read
// and parse the whole system store of root certificates at start when NODE_EXTRA_CA_CERTS is
// set, some 40 ms of CPU each (`node` on an empty file: 108 ms with it, 66 without). The
// tests talk only to servers they started, over loopback, and never use those certificates,
// so the variable is dropped for them (the tests of bin/xe's own handling of it set it
// themselves).
delete process.env.NODE_EXTRA_CA_CERTS;

/** Every test file under `dir` (fixtures and helpers, which only tests import, are not). */
export function testFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...testFiles(p));
    } else if (/\.test\.[cm]?js$/.test(e.name)) {
      out.push(p);
    }
  }
  return out;
}

/** The source a compiled test came from: dist/test/a/b.test.js → test/a/b.test.ts. */
const sourceOf = (file) => relative('dist', file).replace(/\.[cm]?js$/, '.ts');

function loadWeights() {
  try {
    return JSON.parse(readFileSync(new URL('./test-weights.json', import.meta.url), 'utf8'));
  } catch {
    return {};
  }
}

/**
 * The order to hand the runner, which starts the next file whenever one of its lanes is
 * free: this replays that with the weights. A free lane takes the longest file left, but
 * while a long file runs in another lane it takes the longest short one instead.
 */
export function plan(files, weightOf, lanes = CONCURRENCY) {
  const left = files.map((f) => ({ f, w: weightOf(f) })).sort((a, b) => b.w - a.w || (a.f < b.f ? -1 : 1));
  const lane = Array.from({ length: lanes }, () => ({ free: 0, long: false }));
  const order = [];
  while (left.length > 0) {
    const l = lane.reduce((a, b) => (b.free < a.free ? b : a));
    const longElsewhere = lane.some((o) => o !== l && o.long && o.free > l.free);
    let i = longElsewhere ? left.findIndex((x) => x.w < LONG_S) : 0;
    if (i < 0) i = 0;
    const [next] = left.splice(i, 1);
    order.push(next.f);
    l.free += next.w;
    l.long = next.w >= LONG_S;
  }
  return order;
}

function cli() {
  const env = { ...process.env, ...(tmp ? { TMPDIR: tmp } : {}) };
  // Files or directories given run alone; with only options (a name pattern) the whole tree.
  const given = process.argv.slice(2);
  const paths = given.some((a) => !a.startsWith('-') && existsSync(a));
  const args = ['--test', `--test-concurrency=${CONCURRENCY}`, `--test-timeout=${TEST_TIMEOUT_MS}`, ...given, ...(paths ? [] : testFiles('dist/test'))];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
}

function planned() {
  if (tmp) process.env.TMPDIR = tmp;
  const weights = loadWeights();
  const weightOf = (f) => weights[sourceOf(f)] ?? UNKNOWN_S;
  const files = plan(testFiles('dist/test'), weightOf);
  const took = new Map();
  const stream = run({ files, concurrency: CONCURRENCY, timeout: TEST_TIMEOUT_MS });
  const count = (d) => {
    if (d.nesting === 0 && d.file) took.set(d.file, (took.get(d.file) ?? 0) + (d.details?.duration_ms ?? 0));
  };
  stream.on('test:pass', count);
  const failed = [];
  stream.on('test:fail', (d) => {
    count(d);
    if (d.todo) return;
    process.exitCode = 1;
    // A suite or file whose subtests failed fails too; the recap names only the tests.
    if (d.details?.error?.failureType !== 'subtestsFailed') failed.push(d);
  });
  const out = stream.compose(tap).compose(recapBeforeSummary(failed));
  out.pipe(process.stdout, { end: false });
  out.on('end', () => {
    const secs = [...took].map(([f, ms]) => [sourceOf(relative(process.cwd(), f)), Math.round(ms / 100) / 10]).sort((a, b) => b[1] - a[1]);
    // The runner's own `# pass`/`# fail` summary closes the run; the slowest files are
    // listed after it only on request.
    if (process.env.ISLET_TEST_SLOWEST) {
      process.stdout.write('# slowest files (s):\n');
      for (const [f, s] of secs.slice(0, 25)) process.stdout.write(`#   ${String(s).padStart(6)}  ${f}\n`);
    }
    const dest = process.env.ISLET_TEST_WEIGHTS_OUT;
    if (dest) writeFileSync(dest, `${JSON.stringify(Object.fromEntries(secs.filter(([, s]) => s >= 4).map(([f, s]) => [f, Math.round(s)])), null, 1)}\n`);
  });
}

/** One line per failure: where, what, and the first line of why. */
function recapLine(d) {
  const err = d.details?.error;
  const why = String(err?.cause?.message ?? err?.message ?? err ?? '').split('\n')[0].slice(0, 300);
  const file = d.file ? sourceOf(relative(process.cwd(), d.file)) : '?';
  return `#   ${file} › ${d.name}: ${why}\n`;
}

/**
 * Passes the TAP stream through, and just before the closing summary (`# tests N`) lists
 * every failure again. A long run's failures are otherwise scrolled far above its end, and
 * a CI log that keeps only the tail would show `# fail 1` without saying which.
 */
function recapBeforeSummary(failed) {
  return async function* (source) {
    let tail = '';
    let done = false;
    for await (const chunk of source) {
      if (done) {
        yield chunk;
        continue;
      }
      tail += chunk;
      const at = tail.search(/^# tests \d+/m);
      if (at < 0) {
        const cut = tail.lastIndexOf('\n') + 1;
        if (cut > 0) yield tail.slice(0, cut);
        tail = tail.slice(cut);
        continue;
      }
      const recap = failed.length > 0 ? `# failures (${failed.length}):\n${failed.map(recapLine).join('')}` : '';
      yield tail.slice(0, at) + recap + tail.slice(at);
      tail = '';
      done = true;
    }
    if (tail) yield tail;
  };
}

// Run only as a script: a test imports `plan`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.length > 2) cli();
  else planned();
}
