/**
 * @module
 * Runs `bin/islet sim ontap` as a process, as a user would, and waits for its
 * `ready https://ADDR:PORT` line and the certificate fingerprint on the next one (failing
 * with its stderr if they never come).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './repo-root.js';
import { stopChild } from './stop-child.js';

export interface OntapSimProcess {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly fingerprint: string;
  readonly username: string;
  readonly password: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export interface OntapSimArgs {
  readonly aggregates?: readonly string[];
  readonly dataDir?: string;
  /**
   * The child's TMPDIR. By default one of the helper's own, removed once the child has
   * exited, so that not even a SIGKILLed simulator leaves its temporary data behind; a test
   * that gives one keeps it, to look at what the simulator left there.
   */
  readonly tmpDir?: string;
  readonly iscsi?: boolean;
  readonly username?: string;
  readonly password?: string;
}

export async function startOntapSimProcess(a: OntapSimArgs = {}): Promise<OntapSimProcess> {
  const username = a.username ?? 'admin';
  const password = a.password ?? 'netapp-sim-pw';
  const args = [
    join(repoRoot(), 'bin', 'islet'), 'sim', 'ontap', '--listen', '127.0.0.1:0', ...(a.iscsi ? ['--iscsi', '127.0.0.1:0'] : []),
    '--username', username, '--password', password,
    ...(a.aggregates ?? ['aggr1:100G']).flatMap((x) => ['--aggregate', x]),
    ...(a.dataDir ? ['--data-dir', a.dataDir] : []),
  ];
  const ownTmp = a.tmpDir === undefined ? mkdtempSync(join(tmpdir(), 'ontap-sim-tmp-')) : undefined;
  const childTmp = a.tmpDir ?? ownTmp!;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: childTmp } });
  if (ownTmp) child.once('exit', () => rmSync(ownTmp, { recursive: true, force: true }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const [url, fingerprint] = await new Promise<[string, string]>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ontap simulator not ready within 30 s: ${stderr}`)); }, 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (https:\/\/\S+)\n([0-9A-F:]{95})\n/.exec(out);
      if (m) { clearTimeout(timer); resolve([m[1]!, m[2]!]); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`ontap simulator exited (${code}): ${stderr}`)); });
  });
  const u = new URL(url);
  return {
    url, host: u.hostname, port: Number(u.port), fingerprint, username, password, child,
    stop: () => stopChild(child),
  };
}
