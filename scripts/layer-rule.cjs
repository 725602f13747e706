/**
 * The layer rule, written once: which folder of `src/` may import which, as a table and
 * as the dependency-cruiser rules made from it. `npm test` checks it
 * (test/architecture/layer-rule.test.ts), `npx depcruise src` prints the same verdict
 * (.dependency-cruiser.cjs loads this file), and docs/architecture.md shows the table.
 * A folder may always import its own files. Adapters (db, hypervisor, storage, pool) implement ports declared in
 * `src/core/ports/`, never import one another, and only `src/main/` picks them.
 */
'use strict';

/** folder under src/ -> the other folders under src/ it may import. */
const layers = {
  datamodel: [],
  core: ['datamodel'],
  client: ['datamodel'],
  updates: ['core', 'datamodel', 'client'],
  actions: ['core', 'datamodel', 'updates'],
  api: ['core', 'datamodel', 'actions'],
  db: ['core', 'datamodel'],
  hypervisor: ['core', 'datamodel'],
  storage: ['core'],
  rrd: ['core'],
  pool: ['core', 'datamodel', 'client'],
  cli: ['client', 'datamodel'],
  main: ['*'],
};

const folders = Object.keys(layers);

function ruleFor(folder) {
  const allowed = layers[folder];
  if (allowed.includes('*')) return [];
  const others = folders.filter((f) => f !== folder && !allowed.includes(f));
  return [{
    name: `layer-${folder}`,
    comment: `src/${folder}/ may import only ${allowed.length ? allowed.map((f) => `src/${f}/`).join(', ') : 'nothing else in src/'} (docs/architecture.md)`,
    severity: 'error',
    from: { path: `^src/${folder}/` },
    to: { path: `^src/(${others.join('|')})/` },
  }];
}

const config = {
  forbidden: [
    ...folders.flatMap(ruleFor),
    {
      name: 'storage-own-errors',
      comment: 'storage adapters throw their own typed errors (core/ports/storage-errors.ts); core/wire-errors.ts maps them to XenAPI errors at the boundary',
      severity: 'error',
      from: { path: '^src/storage/' },
      to: { path: '^src/(core/api-error|core/wire-errors|datamodel/errors)\\.ts$' },
    },
    {
      name: 'src-stands-alone',
      comment: 'the product never imports tests, benches, simulators or the torture harness',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|sims|torture)/' },
    },
    {
      name: 'known-folder',
      comment: 'every folder of src/ has a row in the layer table',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/(${folders.join('|')})/` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};

module.exports = { layers, config };
