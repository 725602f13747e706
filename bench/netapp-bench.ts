/**
 * @module
 * `npm run bench -- netapp`: `VM.snapshot` of a VM with four disks on a `netapp` SR (the
 * ONTAP simulator, `islet sim ontap`, as a process), 1 GiB disks beside 1 TiB disks, p50
 * of each in the same run. A snapshot is a FlexClone LUN per disk, a metadata operation on
 * the array too, so the goal is the same within noise whatever the disk size.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeVm, p50, rpc } from './snapshot-kit.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const GiB = 1024 ** 3;

/** Starts a process and resolves with its stdout once `re` matches it. */
function startProcess(args: string[], re: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) resolve({ child, match: m });
    });
    child.once('exit', (c) => reject(new Error(`${args[1]} exited ${c}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

export async function run(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 10);
  const dir = await mkdtemp(join(tmpdir(), 'islet-bench-netapp-'));
  const children: ChildProcess[] = [];
  try {
    const sim = await startProcess([join(root, 'bin', 'islet'), 'sim', 'ontap', '--listen', '127.0.0.1:0', '--iscsi', '127.0.0.1:0',
      '--username', 'admin', '--password', 'bench-pw', '--aggregate', 'aggr1:100G', '--data-dir', join(dir, 'ontap')], /ready https:\/\/([^:]+):(\d+)\n([0-9A-F:]{95})\n/);
    children.push(sim.child);
    const islet = await startProcess([join(root, 'bin', 'islet'), 'server', '--data-dir', join(dir, 'host'), '--listen', '127.0.0.1:0', '--root-password', 'bench',
      '--spawn-hypervisor', 'false'], /^ready (\S+)$/m);
    children.push(islet.child);
    const url = islet.match[1]!;
    const s = await rpc(url, 'session.login_with_password', 'root', 'bench', '1.1', 'bench');
    const [host] = await rpc(url, 'host.get_all', s);
    const sr = await rpc(url, 'SR.create', s, host, {
      target: sim.match[1], port: sim.match[2], username: 'admin', password: 'bench-pw', storagePoolId: 'aggr1',
      'provision-type': 'thin', sslfingerprint: sim.match[3],
    }, 0, 'bench netapp', '', 'netapp', 'user', false, {});
    const small = await makeVm(url, s, sr, 'bench-1g', GiB);
    const large = await makeVm(url, s, sr, 'bench-1t', 1024 * GiB);
    const times: Record<string, number[]> = { small: [], large: [] };
    for (let i = 0; i < rounds + 2; i++) {
      // Alternate which goes first: each snapshot adds LUNs, so order would otherwise bias.
      const order = [['small', small], ['large', large]] as const;
      for (const [key, vm] of i % 2 === 0 ? order : [...order].reverse()) {
        const t0 = performance.now();
        await rpc(url, 'VM.snapshot', s, vm, `snap ${i}`, []);
        const dt = performance.now() - t0;
        if (i >= 2) times[key]!.push(dt); // the first two warm up
      }
    }
    const a = p50(times.small!);
    const b = p50(times.large!);
    console.log(`netapp: VM.snapshot p50 over ${rounds} snapshots each, VM with 4 VDIs, netapp SR on the ONTAP simulator (REST over HTTPS)`);
    console.log(`  4 x 1 GiB   ${a.toFixed(1)} ms`);
    console.log(`  4 x 1 TiB   ${b.toFixed(1)} ms`);
    console.log(`  ratio 1 TiB / 1 GiB  ${(b / a).toFixed(2)}  (goal: same within noise)`);
  } finally {
    for (const c of children.reverse()) await stop(c);
    await rm(dir, { recursive: true, force: true });
  }
}
