/**
 * @module
 * Runs `bin/islet sim equallogic` as a process, as a user would, and waits for its
 * `ready ssh://ADDR:PORT` line (failing with its stderr if it never comes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './repo-root.js';
import { stopChild } from './stop-child.js';

export interface EqlSimProcess {
  readonly host: string;
  readonly port: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export interface EqlSimArgs {
  readonly host?: string;
  readonly groupName?: string;
  readonly firmware?: string;
  readonly pool?: string;
  readonly username?: string;
  readonly password?: string;
  readonly dataDir?: string;
  /**
   * The child's TMPDIR. By default one of the helper's own, removed once the child has
   * exited, so that not even a SIGKILLed simulator leaves its temporary data behind; a test
   * that gives one keeps it, to look at what the simulator left there.
   */
  readonly tmpDir?: string;
  readonly iscsiPort?: number;
  readonly extra?: readonly string[];
}

export async function startEqlSimProcess(a: EqlSimArgs = {}): Promise<EqlSimProcess> {
  const host = a.host ?? '127.0.0.1';
  const args = [
    join(repoRoot(), 'bin', 'islet'), 'sim', 'equallogic', '--ssh', `${host}:0`, '--iscsi', `${host}:${a.iscsiPort ?? 0}`,
    '--username', a.username ?? 'grpadmin', '--password', a.password ?? 'eqlsecret', '--group-name', a.groupName ?? 'eqlgrp',
    '--pool', a.pool ?? 'default:200G', '--firmware', a.firmware ?? '5.2.0', ...(a.dataDir ? ['--data-dir', a.dataDir] : []), ...(a.extra ?? []),
  ];
  const ownTmp = a.tmpDir === undefined ? mkdtempSync(join(tmpdir(), 'eql-sim-tmp-')) : undefined;
  const childTmp = a.tmpDir ?? ownTmp!;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: childTmp } });
  if (ownTmp) child.once('exit', () => rmSync(ownTmp, { recursive: true, force: true }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const ready = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`equallogic simulator not ready within 30 s: ${stderr}`)); }, 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (ssh:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`equallogic simulator exited (${code}): ${stderr}`)); });
  });
  const m = /^ssh:\/\/\[?([^\]]+?)\]?:(\d+)$/.exec(ready)!;
  return {
    host: m[1]!, port: Number(m[2]), child,
    stop: () => stopChild(child),
  };
}
