/**
 * @module
 * `npm run torture -- <suite> [--option=value …]`: runs one torture suite against real
 * processes on loopback (or network namespaces the suite makes), prints its figures and
 * failures, and exits 1 if there was any failure. Every suite is bounded in time and in
 * count by its options, whose defaults are the full run the project quotes; the tests
 * under `test/torture/` run each with a small budget.
 */
import { formatResult, intOption, parseOptions, type SuiteResult } from './suite-result.js';

type Suite = (opts: Record<string, string>) => Promise<SuiteResult>;

const suites: Record<string, { usage: string; run: Suite }> = {
  load: {
    usage: '--clients=200 --seconds=60 [--warmup=10]',
    run: async (o) => (await import('./load.js')).runLoad({
      clients: intOption(o, 'clients', 200), seconds: intOption(o, 'seconds', 60), warmupSeconds: o.warmup ? intOption(o, 'warmup', 10) : undefined,
    }),
  },
  fuzz: {
    usage: '--seconds=30 [--runs=N] [--seed=N] [--targets=vhd,xmlrpc,jsonrpc,xe-argv,update-archive,nbd-handshake]',
    run: async (o) => (await import('./fuzz/fuzz-suite.js')).runFuzz({
      seconds: intOption(o, 'seconds', 30), maxRuns: o.runs ? intOption(o, 'runs', 1) : undefined,
      seed: o.seed ? intOption(o, 'seed', 1) : undefined, targets: o.targets?.split(','),
    }),
  },
  abuse: {
    // Bounds are the server's documented defaults (docs/security.md); the probe allows 5 s more.
    usage: '--headers=20 --body=60 --keep-alive=30 --flood=2000 --login-flood=5001 [--only=sockets,login,paths,escalation]',
    run: async (o) => (await import('./abuse/abuse-suite.js')).runAbuse({
      headers: intOption(o, 'headers', 20), body: intOption(o, 'body', 60), keepAlive: intOption(o, 'keep-alive', 30),
      flood: intOption(o, 'flood', 2000), loginFlood: intOption(o, 'login-flood', 5001), only: o.only?.split(','),
    }),
  },
  crash: {
    usage: '--storage=200 --toolstack=28 --rolling=3 [--seed=N] [--concurrency=2] [--ops=snapshot,clone,revert,destroy+gc,import,xva-import,nbd-write,patch-apply]',
    run: async (o) => (await import('./crash/crash-suite.js')).runCrash({
      storageTrials: o.storage === '0' ? 0 : intOption(o, 'storage', 200), toolstackTrials: o.toolstack === '0' ? 0 : intOption(o, 'toolstack', 28),
      rollingTrials: o.rolling === '0' ? 0 : intOption(o, 'rolling', 3),
      seed: o.seed ? intOption(o, 'seed', 1) : undefined, concurrency: intOption(o, 'concurrency', 2), ops: o.ops?.split(','), progress: true,
    }),
  },
};

const [name, ...rest] = process.argv.slice(2);
const suite = name ? suites[name] : undefined;
if (!suite) {
  process.stderr.write(`usage: npm run torture -- <suite> [options]\n${Object.entries(suites).map(([n, s]) => `  ${n} ${s.usage}`).join('\n')}\n`);
  process.exit(2);
}
const started = Date.now();
const result = await suite.run(parseOptions(rest));
console.log(formatResult(result));
console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s in all)`);
process.exitCode = result.failures.length === 0 ? 0 : 1;
