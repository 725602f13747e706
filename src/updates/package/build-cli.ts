/**
 * @module
 * `islet update build`: the command-line face of the builder. Manifest fields come from a
 * JSON file (`--manifest`, update.json without `files`) and/or flags, flags winning; the
 * signing key is an armoured secret key file, its passphrase read from a file so it never
 * shows in a process list. Prints what it built as `key: value` lines.
 */
import { readFile } from 'node:fs/promises';
import { buildUpdate, type BuildResult, type ManifestFields } from './build-update.js';

export const UPDATE_BUILD_USAGE = `usage:
  islet update build --source DIR --key SECRET_KEY.asc [--passphrase-file FILE] --out NAME.xsupdate [--zip]
      (--manifest FILE | --name-label L --version V) [--uuid U] [--name-description D]
      [--guidance restartHost,restartXAPI,restartHVM,restartPV] [--installation-size BYTES]
      [--requires UUID,…] [--conflicts UUID,…] [--product P [--min-version V] [--max-version V]]
`;

const VALUE_FLAGS = new Set(['source', 'manifest', 'key', 'passphrase-file', 'out', 'uuid', 'name-label',
  'name-description', 'version', 'guidance', 'installation-size', 'requires', 'conflicts', 'product',
  'min-version', 'max-version']);
const BOOL_FLAGS = new Set(['zip', 'help']);

function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(a);
    if (!m) throw new Error(`unexpected argument ${a}\n${UPDATE_BUILD_USAGE}`);
    const [, name, inline] = m as unknown as [string, string, string | undefined];
    if (BOOL_FLAGS.has(name)) { out.set(name, 'true'); continue; }
    if (!VALUE_FLAGS.has(name)) throw new Error(`unknown option --${name}\n${UPDATE_BUILD_USAGE}`);
    const v = inline ?? argv[++i];
    if (v === undefined) throw new Error(`--${name} needs a value`);
    out.set(name, v);
  }
  return out;
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter((x) => x !== '');

async function manifestFields(f: Map<string, string>): Promise<ManifestFields> {
  let base: Record<string, unknown> = {};
  const file = f.get('manifest');
  if (file) {
    base = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new Error(`${file}: not a JSON object`);
    if ('files' in base) throw new Error(`${file}: leave "files" out; it is computed from --source`);
  }
  const set = (k: string, v: unknown) => { if (v !== undefined) base[k] = v; };
  set('uuid', f.get('uuid'));
  set('name_label', f.get('name-label'));
  set('name_description', f.get('name-description'));
  set('version', f.get('version'));
  if (f.has('guidance')) base.after_apply_guidance = list(f.get('guidance')!);
  if (f.has('installation-size')) base.installation_size = Number(f.get('installation-size'));
  if (f.has('requires')) base.requires = list(f.get('requires')!);
  if (f.has('conflicts')) base.conflicts = list(f.get('conflicts')!);
  if (f.has('product')) {
    base.applies_to = { product: f.get('product'), ...(f.has('min-version') ? { min: f.get('min-version') } : {}),
      ...(f.has('max-version') ? { max: f.get('max-version') } : {}) };
  } else if (f.has('min-version') || f.has('max-version')) throw new Error('--min-version/--max-version need --product');
  if (base.name_label === undefined || base.version === undefined) throw new Error('give --manifest, or --name-label and --version');
  // The builder validates every field; this cast only hands them over.
  return base as unknown as ManifestFields;
}

/** Runs `islet update build ARGS…`; resolves with what was built, throws with a readable message. */
export async function runUpdateBuildCli(argv: string[], stdout: NodeJS.WritableStream = process.stdout): Promise<BuildResult | undefined> {
  const f = parseArgs(argv);
  if (f.has('help')) { stdout.write(UPDATE_BUILD_USAGE); return undefined; }
  for (const need of ['source', 'key', 'out']) if (!f.has(need)) throw new Error(`--${need} is required\n${UPDATE_BUILD_USAGE}`);
  const out = f.get('out')!;
  if (!/\.xsupdate$/i.test(out)) throw new Error('--out must name a .xsupdate file');
  let passphrase: string | undefined;
  if (f.has('passphrase-file')) passphrase = (await readFile(f.get('passphrase-file')!, 'utf8')).replace(/\r?\n$/, '');
  const result = await buildUpdate({
    sourceDir: f.get('source')!,
    manifest: await manifestFields(f),
    signingKey: await readFile(f.get('key')!, 'utf8'),
    ...(passphrase !== undefined ? { passphrase } : {}),
    out,
    zip: f.has('zip'),
  });
  stdout.write(`uuid: ${result.manifest.uuid}\nxsupdate: ${result.path}\n` +
    (result.zipPath ? `zip: ${result.zipPath}\n` : '') + `signed-by: ${result.fingerprint}\n`);
  return result;
}
