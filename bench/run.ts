/**
 * @module
 * `npm run bench -- <name>`: performance goals measured as ratios against a reference
 * measured in the same run, never as absolute times.
 */
const benches: Record<string, () => Promise<void>> = {
  api: async () => (await import('./api-bench.js')).run(),
  nbd: async () => (await import('./nbd-bench.js')).run(),
  snapshot: async () => (await import('./snapshot-bench.js')).run(),
  netapp: async () => (await import('./netapp-bench.js')).run(),
  equallogic: async () => (await import('./equallogic-bench.js')).run(),
  evacuate: async () => (await import('./evacuate-bench.js')).run(),
  rolling: async () => (await import('./rolling-bench.js')).run(),
  iscsi: async () => (await import('./iscsi-bench.js')).run(),
  list: async () => (await import('./list-bench.js')).run(),
  'db-read': async () => (await import('./db-read-bench.js')).run(),
  console: async () => (await import('./console-bench.js')).run(),
  xva: async () => (await import('./xva-bench.js')).run(),
  transfer: async () => (await import('./transfer-bench.js')).run(),
  delta: async () => (await import('./delta-bench.js')).run(),
};

const name = process.argv[2];
if (!name || !benches[name]) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}>\n`);
  process.exit(2);
}
await benches[name]!();
