/**
 * @module
 * Builds an update the way docs/update-format.md tells an author to, with command-line tools
 * only: `sha256sum` for the hashes, update.json written as text, `gpg --armor --detach-sign`,
 * `zip -r`. Hooks let a test bend one step (skip the signature, edit a file after signing,
 * add an unlisted file) to make each kind of bad package.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type GpgHome, type GpgKey } from './gpg-home.js';

export const UPDATE_UUID = 'b6f7bfe0-b969-11e1-afa6-0800200c9a66';

export interface HandBuildOptions {
  gpg: GpgHome;
  key: GpgKey;
  /** Directory to work in; the package tree goes to `WORK/NAME`, the file to `WORK/NAME.xsupdate`. */
  work: string;
  name?: string;
  /** Change the manifest object before it is written. */
  editManifest?: (m: Record<string, unknown>) => void;
  /** Leave out update.json.asc. */
  unsigned?: boolean;
  /** Runs in the package directory after signing, before zipping. */
  afterSign?: (pkgDir: string) => Promise<void>;
  /** Extra arguments for `zip` (e.g. `--symlinks`). */
  zipArgs?: string[];
  /** Also wrap into NAME.zip as customers get it. */
  wrap?: boolean;
}

/** The payload every hand-built update carries: a file, an executable, and both hooks. */
export async function writeSourceTree(pkg: string): Promise<void> {
  await mkdir(join(pkg, 'payload/opt/islet/bin'), { recursive: true });
  await mkdir(join(pkg, 'hooks'), { recursive: true });
  await writeFile(join(pkg, 'payload/opt/islet/VERSION'), 'XS602E006\n');
  await writeFile(join(pkg, 'payload/opt/islet/bin/isl-fix'), '#!/bin/sh\necho thin provisioning fixed\n');
  await chmod(join(pkg, 'payload/opt/islet/bin/isl-fix'), 0o755);
  for (const hook of ['precheck', 'apply']) {
    await writeFile(join(pkg, 'hooks', hook), '#!/bin/sh\nexit 0\n');
    await chmod(join(pkg, 'hooks', hook), 0o755);
  }
}

const LISTED: Array<[string, string]> = [
  ['payload/opt/islet/VERSION', '0644'],
  ['payload/opt/islet/bin/isl-fix', '0755'],
  ['hooks/precheck', '0755'],
  ['hooks/apply', '0755'],
];

export async function handBuild(o: HandBuildOptions): Promise<string> {
  const name = o.name ?? 'XS602E006';
  const pkg = join(o.work, name);
  await writeSourceTree(pkg);
  const { stdout } = await run('sha256sum', LISTED.map(([p]) => p), { cwd: pkg });
  const hashes = new Map(stdout.trim().split('\n').map((l) => { const [h, p] = l.split(/\s+/); return [p!, h!]; }));
  const manifest: Record<string, unknown> = {
    uuid: UPDATE_UUID,
    name_label: name,
    name_description: 'Integrated StorageLink fixes for NetApp and Dell EqualLogic',
    version: '1.0',
    after_apply_guidance: ['restartXAPI'],
    installation_size: 100,
    requires: [],
    conflicts: [],
    applies_to: { product: 'XenServer', min: '6.0.2', max: '6.0.2' },
    files: LISTED.map(([path, mode]) => ({ path, sha256: hashes.get(path), mode })),
  };
  o.editManifest?.(manifest);
  await writeFile(join(pkg, 'update.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (!o.unsigned) await o.gpg.detachSign(join(pkg, 'update.json'), o.key);
  await o.afterSign?.(pkg);
  const out = join(o.work, `${name}.xsupdate`);
  const members = o.unsigned ? ['update.json', 'payload', 'hooks'] : ['update.json', 'update.json.asc', 'payload', 'hooks'];
  await run('zip', ['-q', '-r', ...(o.zipArgs ?? []), out, ...members], { cwd: pkg });
  if (!o.wrap) return out;
  const zip = join(o.work, `${name}.zip`);
  await run('zip', ['-q', '-j', zip, out]);
  return zip;
}
