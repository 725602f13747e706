/**
 * @module
 * A throw-away GnuPG home for tests: real `gpg` makes the keys (RSA and Ed25519), exports
 * them, signs and verifies, exactly as an update author would. `close()` stops the gpg-agent
 * that gpg starts on its own and removes the directory.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Runs a program; rejects with its stderr when it exits non-zero. */
export async function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileP(cmd, args, { ...opts, maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const err = e as Error & { stderr?: string; code?: number };
    throw new Error(`${cmd} ${args.join(' ')} exited ${err.code}: ${err.stderr ?? err.message}`);
  }
}

export interface GpgKey {
  uid: string;
  fingerprint: string;
}

export class GpgHome {
  private constructor(readonly dir: string) {}

  static async create(): Promise<GpgHome> {
    return new GpgHome(await mkdtemp(join(tmpdir(), 'islet-gpg-')));
  }

  /** gpg in batch mode on this home; `at` fakes the clock (YYYYMMDDTHHMMSS). */
  gpg(args: string[], o: { at?: string; passphrase?: string; cwd?: string } = {}) {
    const base = ['--homedir', this.dir, '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', o.passphrase ?? ''];
    if (o.at) base.push('--faked-system-time', `${o.at}!`);
    return run('gpg', [...base, ...args], o.cwd ? { cwd: o.cwd } : {});
  }

  /** `gpg --quick-gen-key UID ALGO sign EXPIRE`, a primary key that signs. */
  async genKey(uid: string, algo: 'rsa2048' | 'ed25519', o: { expire?: string; at?: string; passphrase?: string } = {}): Promise<GpgKey> {
    await this.gpg(['--quick-gen-key', uid, algo, 'sign', o.expire ?? 'never'], o);
    const { stdout } = await this.gpg(['--with-colons', '--list-keys', uid], o);
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)?.[1];
    if (!fpr) throw new Error(`no fingerprint for ${uid}`);
    return { uid, fingerprint: fpr };
  }

  async exportPublic(key: GpgKey): Promise<string> {
    return (await this.gpg(['--armor', '--export', key.fingerprint])).stdout;
  }

  async exportSecret(key: GpgKey, passphrase = ''): Promise<string> {
    return (await this.gpg(['--armor', '--export-secret-keys', key.fingerprint], { passphrase })).stdout;
  }

  /** `gpg --armor --detach-sign` FILE, writing FILE.asc. */
  async detachSign(file: string, key: GpgKey, at?: string): Promise<void> {
    await this.gpg(['--yes', '--armor', '--local-user', key.fingerprint, '--detach-sign', file], at ? { at } : {});
  }

  /** `gpg --verify SIG FILE`; resolves with gpg's status lines. */
  async verify(sig: string, file: string): Promise<string> {
    return (await this.gpg(['--status-fd', '1', '--verify', sig, file])).stdout;
  }

  /** Imports the revocation certificate gpg stored when it made the key. */
  async revoke(key: GpgKey): Promise<void> {
    const path = join(this.dir, 'openpgp-revocs.d', `${key.fingerprint}.rev`);
    // gpg stores it with the armour line commented out by a leading ':' so it is not imported by accident.
    const text = (await readFile(path, 'utf8')).replace(/^:-----BEGIN/m, '-----BEGIN');
    const armed = join(this.dir, 'revoke.asc');
    await writeFile(armed, text);
    await this.gpg(['--import', armed]);
  }

  async close(): Promise<void> {
    await run('gpgconf', ['--homedir', this.dir, '--kill', 'all']).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
