/**
 * @module
 * Listing a big pool: 10,000 VMs (`BENCH_VMS`, written into the pool database of a stopped
 * host in one transaction, as creating them one call at a time would take minutes) on a
 * real `islet server`, then, in the
 * same run, `VM.get_all` (the reference), `VM.get_all_records`, `VM.get_all_records_where`
 * with a name filter (the server filters), over JSON-RPC and XML-RPC, and `xe vm-list
 * name-label=X` (which sends that filter to the server) beside `xe host-list` (the cost
 * of starting xe and logging in, on a one-record class). Goal: a filtered listing costs at
 * most 2x `VM.get_all`. Medians of `BENCH_ROUNDS` (5) rounds; the server's RSS is printed.
 * For xe, and for `node -e 0` (Node's own start, the floor), also the CPU per run of the
 * client and of the server, steadier than wall time on a shared machine. xe is timed as
 * `npm run build` leaves it, bundled (bench/xe-bundle.ts), and run as a program, as `xe`
 * on a user's PATH is, not as `node bin/xe`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { newRef, newUuid } from '../src/core/ref.js';
import { classes } from '../src/datamodel/index.js';
import { openPoolDb } from '../src/db/sqlite-pool-db.js';
import { ensureXeBundle } from './xe-bundle.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const execFileP = promisify(execFile);

function waitReady(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (c) => reject(new Error(`exited ${c}`)));
  });
}

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(`${url}/jsonrpc`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }),
  });
  const j = (await res.json()) as { result?: unknown; error?: unknown };
  if (j.error) throw new Error(`${method}: ${JSON.stringify(j.error)}`);
  return j.result;
}

const xmlString = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

async function xmlRpc(url: string, method: string, params: string[]): Promise<number> {
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param><value><string>${xmlString(p)}</string></value></param>`).join('')}</params></methodCall>`;
  const res = await fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
  const text = await res.text();
  if (!text.includes('<name>Status</name><value>Success</value>') && !/Success/.test(text.slice(0, 400))) throw new Error(`${method}: ${text.slice(0, 300)}`);
  return text.length;
}

async function median(rounds: number, f: () => Promise<unknown>, warmUp = true): Promise<number> {
  if (warmUp) await f();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** CPU milliseconds (user + system) from a /proc stat line: of the process itself, or of its reaped children. */
function cpuMs(pid: number | 'self', children: boolean): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [u, s] = children ? [f[13], f[14]] : [f[11], f[12]];
  return (Number(u) + Number(s)) * 10; // CLK_TCK is 100 on Linux
}

/**
 * A command run `rounds` times: the median wall time, and the mean CPU per run of the
 * command itself (this process's reaped children) and of the server, which, unlike wall
 * time, other tenants of a shared machine barely move.
 */
async function timedRuns(rounds: number, serverPid: number, f: () => Promise<unknown>): Promise<{ ms: number; clientCpu: number; serverCpu: number }> {
  await f(); // warm-up (and the run that writes xe's code cache)
  const [c0, s0] = [cpuMs('self', true), cpuMs(serverPid, false)];
  const ms = await median(rounds, f, false);
  return { ms, clientCpu: (cpuMs('self', true) - c0) / rounds, serverCpu: (cpuMs(serverPid, false) - s0) / rounds };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const MiB = 1024 * 1024;
const vmRecord = (i: number) => ({
  name_label: `vm-${i}`, name_description: `bench VM ${i}`, user_version: 1, is_a_template: false,
  affinity: 'OpaqueRef:NULL', memory_static_max: 256 * MiB, memory_dynamic_max: 256 * MiB,
  memory_dynamic_min: 256 * MiB, memory_static_min: 128 * MiB, VCPUs_params: {}, VCPUs_max: 1,
  VCPUs_at_startup: 1, actions_after_shutdown: 'destroy', actions_after_reboot: 'restart',
  actions_after_crash: 'restart', PV_bootloader: '', PV_kernel: '', PV_ramdisk: '', PV_args: '',
  PV_bootloader_args: '', PV_legacy_args: '', HVM_boot_policy: 'BIOS order', HVM_boot_params: { order: 'cd' },
  platform: {}, PCI_bus: '', other_config: {}, recommendations: '',
});

function startServer(dir: string): ChildProcess {
  return spawn(process.execPath, [join(root, 'bin', 'islet'), 'server', '--data-dir', dir, '--listen', '127.0.0.1:0',
    '--root-password', 'bench', '--spawn-hypervisor', 'false'], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

export async function run(): Promise<void> {
  await ensureXeBundle(root);
  const count = Number(process.env.BENCH_VMS ?? 10_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const dir = await mkdtemp(join(tmpdir(), 'islet-bench-'));
  // First start makes the pool; then the VMs go straight into its database.
  let islet = startServer(dir);
  try {
    await waitReady(islet);
    await stopServer(islet);
    const db = openPoolDb(join(dir, 'pool.db'), classes);
    db.transaction(() => {
      for (let i = 0; i < count; i++) db.create('VM', newRef<'VM'>(), { ...vmRecord(i), uuid: newUuid(), power_state: 'Halted' });
    });
    db.close();
    islet = startServer(dir);
    const url = await waitReady(islet);
    const port = new URL(url).port;
    const session = String(await rpc(url, 'session.login_with_password', ['root', 'bench', '1.1', 'bench']));
    const rssStart = rssMiB(islet.pid!);
    const made = ((await rpc(url, 'VM.get_all', [session])) as string[]).length;
    console.log(`list: ${made} VMs, medians of ${rounds} rounds`);
    const target = `vm-${Math.floor(count / 2)}`;
    const expr = `field "name__label"="${target}"`;
    const getAll = await median(rounds, () => rpc(url, 'VM.get_all', [session]));
    const records = await median(rounds, () => rpc(url, 'VM.get_all_records', [session]));
    const where = await median(rounds, async () => {
      const r = (await rpc(url, 'VM.get_all_records_where', [session, expr])) as Record<string, unknown>;
      if (Object.keys(r).length !== 1) throw new Error(`${expr}: ${Object.keys(r).length} matches`);
    });
    const whereXml = await median(rounds, () => xmlRpc(url, 'VM.get_all_records_where', [session, expr]));
    const getAllXml = await median(rounds, () => xmlRpc(url, 'VM.get_all', [session]));
    // xe is run as a user runs it, as a program (bin/xe starts Node itself; see its header).
    const xe = (...args: string[]) => execFileP(join(root, 'bin', 'xe'), ['-s', '127.0.0.1', '-p', port, '-u', 'root', '-pw', 'bench', '--nossl', ...args], { maxBuffer: 1 << 30 });
    const xeOneRun = await timedRuns(rounds, islet.pid!, async () => {
      const { stdout } = await xe('vm-list', `name-label=${target}`, '--minimal');
      if (stdout.trim().split(',').length !== 1 || !stdout.trim()) throw new Error(`xe vm-list name-label=${target}: ${stdout}`);
    });
    const xeBaseRun = await timedRuns(rounds, islet.pid!, () => xe('host-list', '--minimal'));
    // Node's own start, the floor under any xe command.
    const nodeRun = await timedRuns(rounds, islet.pid!, () => execFileP(process.execPath, ['-e', '0']));
    const [xeOne, xeBase] = [xeOneRun.ms, xeBaseRun.ms];
    const rssEnd = rssMiB(islet.pid!);
    const row = (label: string, ms: number, ref?: number) =>
      console.log(`  ${label.padEnd(52)} ${ms.toFixed(1).padStart(8)} ms${ref ? `   ${(ms / ref).toFixed(2)}x` : ''}`);
    row('VM.get_all (JSON-RPC, the reference)', getAll);
    row('VM.get_all_records (JSON-RPC)', records, getAll);
    row(`VM.get_all_records_where name_label (JSON-RPC)`, where, getAll);
    row('VM.get_all (XML-RPC, the reference)', getAllXml);
    row(`VM.get_all_records_where name_label (XML-RPC)`, whereXml, getAllXml);
    row('xe host-list --minimal (xe start + login + 1 record)', xeBase);
    row(`xe vm-list name-label=${target} --minimal`, xeOne, xeBase);
    const cpuLine = (label: string, r: { clientCpu: number; serverCpu: number }) =>
      console.log(`    CPU per run, ${label.padEnd(33)} client ${r.clientCpu.toFixed(0).padStart(4)} ms, server ${r.serverCpu.toFixed(0).padStart(3)} ms`);
    cpuLine('node -e 0 (Node\'s own start)', nodeRun);
    cpuLine('xe host-list --minimal', xeBaseRun);
    cpuLine(`xe vm-list name-label=${target}`, xeOneRun);
    console.log(`  goal: filtered <= 2.00x VM.get_all: JSON-RPC ${(where / getAll).toFixed(2)}x, XML-RPC ${(whereXml / getAllXml).toFixed(2)}x;`
      + ` xe vm-list over VM.get_all (JSON-RPC): ${(xeOne / getAll).toFixed(2)}x;`
      + ` xe over its own start-up: ${(xeOne / xeBase).toFixed(2)}x (+${(xeOne - xeBase).toFixed(0)} ms)`);
    console.log(`  server RSS: ${rssStart.toFixed(0)} MiB after start with ${made} VMs, ${rssEnd.toFixed(0)} MiB after the listings`);
  } finally {
    await stopServer(islet);
    await rm(dir, { recursive: true, force: true });
  }
}
