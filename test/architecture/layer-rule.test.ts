/**
 * The layer rule of scripts/layer-rule.cjs holds for `src/`, and the checker can fail:
 * a fixture tree with a back-edge (core importing actions) and a folder the table does
 * not know is reported, while its allowed edge (actions importing core) is not.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import { repoRoot } from '../helpers/repo-root.js';

const root = repoRoot();
const require = createRequire(import.meta.url);
const { config, layers } = require(join(root, 'scripts/layer-rule.cjs')) as {
  config: { forbidden: unknown[] };
  layers: Record<string, string[]>;
};

async function violations(baseDir: string): Promise<IViolation[]> {
  const r = await cruise(['src'], {
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden } as never,
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
  }, { extensions: ['.ts', '.js'] });
  const out = r.output as ICruiseResult;
  assert.ok(out.modules.length > 0, `nothing cruised under ${baseDir}/src`);
  // An import the checker could not follow would pass every rule unseen.
  const lost = out.modules.flatMap((m) => m.dependencies.filter((d) => d.couldNotResolve && d.module.startsWith('.')).map((d) => `${m.source} → ${d.module}`));
  assert.deepEqual(lost, [], 'relative imports the checker could not resolve');
  return out.summary.violations;
}

const show = (v: readonly IViolation[]) => v.map((x) => `${x.rule.name}: ${x.from} → ${x.to}`).join('\n  ');

test('src/ keeps the layer rule', { timeout: 120_000 }, async () => {
  const v = await violations(root);
  assert.deepEqual(v, [], `imports that break the layer rule (docs/architecture.md):\n  ${show(v)}`);
});

test('the checker fails on a back-edge and on a folder with no row', { timeout: 120_000 }, async () => {
  const v = await violations(join(root, 'test/architecture/fixtures/back-edge'));
  const found = v.map((x) => `${x.rule.name} ${x.from} -> ${x.to}`).sort();
  assert.deepEqual(found, [
    'known-folder src/gadgets/gadget.ts -> src/core/kind.ts',
    'layer-core src/core/ticket.ts -> src/actions/stamp.ts',
  ], show(v));
});

test('every folder of src/ has a row in the layer table', async () => {
  const { readdirSync } = await import('node:fs');
  const folders = readdirSync(join(root, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  assert.deepEqual(folders, Object.keys(layers).sort());
});

test('docs/architecture.md shows the same table, and the README lists every folder', async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## The layer rule'), doc.indexOf('## Contracts'));
  const documented: Record<string, string[]> = {};
  for (const m of section.matchAll(/^\| `(\w+)` \| (.+) \|$/gm)) {
    documented[m[1]!] = m[2] === 'everything' ? ['*'] : m[2] === '—' ? [] : [...m[2]!.matchAll(/`(\w+)`/g)].map((x) => x[1]!);
  }
  assert.deepEqual(documented, layers, 'the table in docs/architecture.md differs from scripts/layer-rule.cjs');
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const layout = readme.slice(readme.indexOf('## Layout'));
  // Folders git ignores (node_modules/, dist/, the var/ that `npm start` makes) are not the project's.
  const ignored = new Set(readFileSync(join(root, '.gitignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.endsWith('/')));
  const top = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.') && !ignored.has(`${d.name}/`)).map((d) => `${d.name}/`);
  const inSrc = readdirSync(join(root, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `src/${d.name}/`);
  const missing = [...top.filter((d) => d !== 'src/'), ...inSrc].filter((d) => !new RegExp(`^${d.replace('/', '\\/')}\\s`, 'm').test(layout));
  assert.deepEqual(missing, [], "folders the README's layout section does not list");
});
