/**
 * @module
 * What the hotfix end-to-end tests share: a throw-away gpg key trusted by the pool (its
 * public half in a file for `--update-key`), updates built with `zip` and `gpg` alone (the
 * package tests' hand builder), and `bin/xe` run as a user would, with a clean HOME.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XapiClient } from '../../src/client/xapi-client.js';
import { startIslet, type IsletProcess } from '../helpers/islet-server.js';
import { GpgHome, run, type GpgKey } from './package/gpg-home.js';
import { handBuild, type HandBuildOptions } from './package/hand-build.js';
import { runXe, type XeRun } from '../helpers/xe.js';

export type { XeRun } from '../helpers/xe.js';

export class UpdateFixture {
  private constructor(
    readonly work: string,
    readonly gpg: GpgHome,
    readonly key: GpgKey,
    /** The trusted key's public half, armoured, in a file. */
    readonly keyFile: string,
  ) {}

  static async create(): Promise<UpdateFixture> {
    const work = await mkdtemp(join(tmpdir(), 'islet-upd-'));
    const gpg = await GpgHome.create();
    const key = await gpg.genKey('Islet Test Updates <updates@example.com>', 'ed25519');
    const keyFile = join(work, 'updates-public.asc');
    await writeFile(keyFile, await gpg.exportPublic(key));
    await writeFile(join(work, '.keep'), '');
    return new UpdateFixture(work, gpg, key, keyFile);
  }

  /** An update built the way docs/update-format.md §8 says, in its own directory. */
  async build(o: Partial<HandBuildOptions> & { dir?: string } = {}): Promise<string> {
    const dir = await mkdtemp(join(this.work, o.dir ?? 'build-'));
    return handBuild({ gpg: this.gpg, key: this.key, work: dir, ...o });
  }

  /**
   * An update with hooks of the test's choosing, made with sha256sum, gpg and zip alone:
   * `payload` maps paths under payload/ to contents, `hooks` maps precheck/apply to scripts.
   */
  async custom(o: {
    name: string; uuid?: string; guidance?: string[]; payload?: Record<string, string>;
    hooks?: { precheck?: string; apply?: string }; manifest?: Record<string, unknown>;
  }): Promise<{ path: string; uuid: string }> {
    const dir = await mkdtemp(join(this.work, 'custom-'));
    const pkg = join(dir, o.name);
    const files: Array<[string, string]> = [];
    for (const [p, text] of Object.entries(o.payload ?? { [`opt/islet/${o.name}`]: `${o.name}\n` })) {
      const rel = `payload/${p}`;
      await mkdir(join(pkg, rel, '..'), { recursive: true });
      await writeFile(join(pkg, rel), text);
      files.push([rel, '0644']);
    }
    for (const [h, script] of Object.entries(o.hooks ?? {})) {
      await mkdir(join(pkg, 'hooks'), { recursive: true });
      await writeFile(join(pkg, 'hooks', h), script);
      await chmod(join(pkg, 'hooks', h), 0o755);
      files.push([`hooks/${h}`, '0755']);
    }
    const { stdout } = await run('sha256sum', files.map(([p]) => p), { cwd: pkg });
    const sums = new Map(stdout.trim().split('\n').map((l) => { const [h, p] = l.split(/\s+/); return [p!, h!]; }));
    const uuid = o.uuid ?? randomUUID();
    const manifest = {
      uuid, name_label: o.name, name_description: `test update ${o.name}`, version: '1.0',
      after_apply_guidance: o.guidance ?? ['restartXAPI'], installation_size: 10, requires: [], conflicts: [],
      ...o.manifest,
      files: files.map(([path, mode]) => ({ path, sha256: sums.get(path), mode })),
    };
    await writeFile(join(pkg, 'update.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await this.gpg.detachSign(join(pkg, 'update.json'), this.key);
    const out = join(dir, `${o.name}.xsupdate`);
    await run('zip', ['-q', '-r', out, 'update.json', 'update.json.asc', 'payload', ...(o.hooks ? ['hooks'] : [])], { cwd: pkg });
    return { path: out, uuid };
  }

  /** Runs `bin/xe` with these arguments. */
  xe(args: readonly string[], o: { cwd?: string } = {}): Promise<XeRun> {
    return runXe(args, { home: this.work, ...o });
  }

  async close(): Promise<void> {
    await this.gpg.close();
    await rm(this.work, { recursive: true, force: true });
  }
}

/** One `islet server` trusting the fixture's key, and a root session on it. */
export interface UpdateHost {
  fx: UpdateFixture;
  srv: IsletProcess;
  api: XapiClient;
  close(): Promise<void>;
}

export async function startUpdateHost(rootPassword: string): Promise<UpdateHost> {
  const fx = await UpdateFixture.create();
  const srv = await startIslet({ rootPassword, args: ['--update-key', fx.keyFile] });
  const api = new XapiClient({ url: `https://127.0.0.1:${srv.port}` });
  await api.login('root', rootPassword);
  return {
    fx, srv, api,
    close: async () => {
      api.close();
      await srv.stop();
      await fx.close();
    },
  };
}
