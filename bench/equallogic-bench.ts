/**
 * @module
 * Snapshot latency on an EqualLogic SR does not depend on disk size: p50 of `VM.snapshot`
 * for a VM with four 1 GiB disks beside one with four 1 TiB disks, on a real
 * `islet server` with an `equallogic` SR on a simulated group (`islet sim equallogic`,
 * over SSH and iSCSI on loopback). Goal: the same within noise; an array snapshot costs
 * nothing per byte of disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeVm, p50, rpc } from './snapshot-kit.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const GiB = 1024 ** 3;

function ready(child: ChildProcess, re: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} not ready in 60 s`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (c) => { clearTimeout(timer); reject(new Error(`${what} exited ${c}`)); });
  });
}

export async function run(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
  const dir = await mkdtemp(join(tmpdir(), 'islet-eql-bench-'));
  const sim = spawn(process.execPath, [join(root, 'bin', 'islet'), 'sim', 'equallogic', '--ssh', '127.0.0.1:0', '--iscsi', '127.0.0.1:0',
    '--username', 'grpadmin', '--password', 'bench', '--group-name', 'benchgrp', '--pool', 'default:20T', '--firmware', '7.1.12',
    '--data-dir', join(dir, 'group')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const islet = spawn(process.execPath, [join(root, 'bin', 'islet'), 'server', '--data-dir', join(dir, 'host'), '--listen', '127.0.0.1:0',
    '--root-password', 'bench', '--spawn-hypervisor', 'false'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [sshUrl, url] = await Promise.all([ready(sim, /^ready (ssh:\S+)$/m, 'equallogic simulator'), ready(islet, /^ready (\S+)$/m, 'islet')]);
    const ssh = new URL(sshUrl);
    const s = await rpc(url, 'session.login_with_password', 'root', 'bench', '1.1', 'bench');
    const [host] = await rpc(url, 'host.get_all', s);
    const sr = await rpc(url, 'SR.create', s, host, {
      target: ssh.hostname, port: ssh.port, username: 'grpadmin', password: 'bench', storagePoolId: 'default',
    }, 0, 'EqualLogic bench', '', 'equallogic', 'user', false, {});
    const small = await makeVm(url, s, sr, 'bench-1g', GiB);
    const large = await makeVm(url, s, sr, 'bench-1t', 1024 * GiB);
    const times: Record<string, number[]> = { small: [], large: [] };
    for (let i = 0; i < rounds + 2; i++) {
      for (const [key, vm] of [['small', small], ['large', large]] as const) {
        const t0 = performance.now();
        await rpc(url, 'VM.snapshot', s, vm, `snap ${i}`, []);
        const dt = performance.now() - t0;
        if (i >= 2) times[key]!.push(dt); // the first two warm up
      }
    }
    const a = p50(times.small!);
    const b = p50(times.large!);
    console.log(`equallogic: VM.snapshot p50 over ${rounds} snapshots each, VM with 4 VDIs, equallogic SR on a simulated group (SSH CLI)`);
    console.log(`  4 x 1 GiB   ${a.toFixed(1)} ms`);
    console.log(`  4 x 1 TiB   ${b.toFixed(1)} ms`);
    console.log(`  ratio 1 TiB / 1 GiB  ${(b / a).toFixed(2)}  (goal: same within noise)`);
  } finally {
    for (const c of [islet, sim]) {
      if (c.exitCode === null) {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}
