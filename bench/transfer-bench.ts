/**
 * @module
 * Disk transfer throughput through a real `islet server`: `xe vdi-import` / `xe vdi-export`
 * of a 1 GiB disk of random data (raw and vhd), `curl` on `/import_raw_vdi` and
 * `/export_raw_vdi` (the same HTTP handlers without xe), and `nbdcopy` to and from the same
 * VDI through the host's NBD server, all in one run. Like is compared with like: by default
 * xe and curl go over HTTPS and nbdcopy over NBD with TLS (network purpose `nbd`, `nbds://`
 * trusting the host's announced certificate); with BENCH_PLAIN=1 over plain HTTP and plain
 * NBD (purpose `insecure_nbd`). The header line names the mode. Prints each path's MB/s (median of the rounds), its ratio to
 * nbdcopy in the same direction (goal ≥ 0.8) and xe's ratio to curl (goal ≥ 0.9). A ratio is
 * the median over the rounds of the ratio within each round: a round runs each path once,
 * xe right next to curl, so a machine whose speed drifts from one minute to the next (a
 * shared virtual machine's does, by a fifth and more) slows both sides of a ratio alike,
 * where a ratio of two medians could take them from different rounds.
 * Also prints CPU seconds per GiB of the server and of the client tool for each path (steadier
 * than wall time on a shared machine), and what one xe or curl command costs besides its
 * bytes (a 1 MiB import). Every export is compared with the source, so a fast wrong copy
 * fails the bench.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBenchServer } from './islet-server-process.js';
import { cpuSeconds, exec, haveTools, isletNbdUri, median, scratchBase, timed, writeRandom } from './nbd-bench-kit.js';
import { vhdFromRaw } from './vhd-fixtures.js';
import { ensureXeBundle } from './xe-bundle.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const PW = 'bench';

function mbps(bytes: number, seconds: number): string {
  return `${(bytes / 1e6 / seconds).toFixed(0).padStart(5)} MB/s`;
}

/**
 * CPU seconds of this process's finished children (user + system): every tool a path runs
 * (xe, curl, nbdcopy) is waited for, so the difference around one path is that path's
 * client CPU. CLK_TCK is 100 on Linux.
 */
async function childCpu(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

function mark(r: number, goal: number): string {
  return `${r.toFixed(2)}${r >= goal ? '' : ` (below ${goal})`}`;
}

export async function run(): Promise<void> {
  await ensureXeBundle(root);
  const missing = await haveTools(['nbdcopy', 'curl', 'cmp']);
  if (missing) throw new Error(`transfer bench needs ${missing}`);
  const mib = Number(process.env.BENCH_MIB ?? 1024);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const size = mib * 2 ** 20;
  const dir = await mkdtemp(join(await scratchBase(5 * size), 'islet-transfer-'));
  const src = join(dir, 'src.raw');
  const srcVhd = join(dir, 'src.vhd');
  const out = join(dir, 'out');
  await writeRandom(src, mib);
  await vhdFromRaw(src, srcVhd, size);
  // BENCH_SERVER_NODE_ARGS (say `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to the server's node.
  const serverArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = await startBenchServer(root, join(dir, 'data'), PW, { nodeArgs: serverArgs }).catch(async (e: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
  const { url } = server;
  try {
    const port = new URL(url).port;
    const { session: s, defaultSr: sr } = server;
    const vdi = await server.rpc('VDI.create', s, {
      name_label: 'transfer bench', SR: sr, virtual_size: size, type: 'user', sharable: false, read_only: false,
      other_config: {}, sm_config: {},
    });
    const uuid = await server.rpc('VDI.get_uuid', s, vdi);
    // TLS everywhere unless BENCH_PLAIN=1 (then xe --nossl, curl over http, plain NBD): like with like.
    // xe never uses TLS to 127.0.0.1 (as xe on a host's own console), so it is given `localhost`.
    const plain = process.env.BENCH_PLAIN === '1';
    const [network] = await server.rpc('network.get_all', s);
    await server.rpc('network.add_purpose', s, network, plain ? 'insecure_nbd' : 'nbd');
    const base = plain ? url : url.replace(/^http:/, 'https:');
    // xe is run as a user runs it, as a program (bin/xe starts Node itself; see its header).
    const xe = (...args: string[]) => exec(join(root, 'bin', 'xe'), ['-s', plain ? '127.0.0.1' : 'localhost', '-p', port, '-pw', PW, ...(plain ? ['--nossl'] : []), ...args],
      { maxBuffer: 1 << 20 });
    const nbdUri = async (): Promise<string> => {
      const [info] = await server.rpc('VDI.get_nbd_info', s, vdi);
      if (!info) throw new Error('VDI.get_nbd_info returned nothing: is the NBD purpose set?');
      return isletNbdUri(info, plain ? undefined : dir);
    };
    const exportUrl = (format: string) => `${base}/export_raw_vdi?session_id=${s}&vdi=${vdi}&format=${format}`;
    const importUrl = (format: string) => `${base}/import_raw_vdi?session_id=${s}&vdi=${vdi}&format=${format}`;
    const curl = (...a: string[]) => exec('curl', ['-sS', '--fail', '--insecure', ...a], { maxBuffer: 1 << 20 });
    const same = async (what: string, file: string, format: string) => {
      const ok = format === 'vhd'
        ? await exec('qemu-img', ['compare', '-q', '-f', 'vpc', '-F', 'raw', file, src]).then(() => true, () => false)
        : await exec('cmp', [src, file]).then(() => true, () => false);
      if (!ok) throw new Error(`${what}: the exported data differs from the source`);
    };

    type Path = { name: string; dir: 'import' | 'export'; ref: 'nbdcopy' | 'curl' | 'xe'; format: string; go: () => Promise<unknown> };
    const paths: Path[] = [];
    for (const format of ['raw', 'vhd']) {
      const file = format === 'vhd' ? srcVhd : src;
      paths.push({ name: `xe vdi-import ${format}`, dir: 'import', ref: 'xe', format, go: () => xe('vdi-import', `uuid=${uuid}`, `filename=${file}`, `format=${format}`) });
      paths.push({ name: `curl PUT import ${format}`, dir: 'import', ref: 'curl', format, go: () => curl('-T', file, importUrl(format)) });
      paths.push({ name: `xe vdi-export ${format}`, dir: 'export', ref: 'xe', format, go: () => xe('vdi-export', `uuid=${uuid}`, `filename=${out}`, `format=${format}`) });
      paths.push({ name: `curl GET export ${format}`, dir: 'export', ref: 'curl', format, go: () => curl('-o', out, exportUrl(format)) });
    }
    paths.push({ name: 'nbdcopy write', dir: 'import', ref: 'nbdcopy', format: 'raw', go: async () => exec('nbdcopy', ['--flush', src, await nbdUri()]) });
    paths.push({ name: 'nbdcopy read', dir: 'export', ref: 'nbdcopy', format: 'raw', go: async () => exec('nbdcopy', [await nbdUri(), out]) });

    // BENCH_ONLY=export (say) keeps the paths whose name holds it, beside both nbdcopy runs.
    const only = process.env.BENCH_ONLY;
    if (only) paths.splice(0, paths.length, ...paths.filter((p) => p.ref === 'nbdcopy' || p.name.includes(only)));
    const times = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    // CPU seconds per GiB moved: the server's (the islet process, NBD server included) and the client's.
    const cpu = new Map<string, { server: number[]; client: number[] }>(paths.map((p) => [p.name, { server: [], client: [] }]));
    console.log(`transfer: ${plain ? 'HTTP vs plain NBD' : 'HTTPS vs NBD over TLS'} (xe and curl vs nbdcopy); ${mib} MiB of random data, one VDI on the local file SR of an islet server, ${rounds} rounds (+1 warm-up): MB/s the median, ratios the median of each round's ratio`);
    await exec('nbdcopy', ['--flush', src, await nbdUri()]); // the disk holds the data before any export runs
    for (let i = 0; i <= rounds; i++) {
      const order = i % 2 ? [...paths].reverse() : paths;
      for (const p of order) {
        await rm(out, { force: true });
        const [s0, c0] = [await cpuSeconds(server.process.pid!), await childCpu()];
        const t = await timed(p.go);
        const [s1, c1] = [await cpuSeconds(server.process.pid!), await childCpu()];
        if (p.dir === 'export') await same(p.name, out, p.format);
        // BENCH_VERBOSE=1 prints every measurement: an odd median is then traced to its round.
        if (process.env.BENCH_VERBOSE === '1') console.log(`    round ${i}${i === 0 ? ' (warm-up)' : ''}: ${p.name.padEnd(22)} ${t.toFixed(3)} s  CPU s server ${(s1 - s0).toFixed(2)} client ${(c1 - c0).toFixed(2)}`);
        if (i > 0) {
          times.get(p.name)!.push(t);
          cpu.get(p.name)!.server.push((s1 - s0) / (size / 2 ** 30));
          cpu.get(p.name)!.client.push((c1 - c0) / (size / 2 ** 30));
        }
      }
    }
    await rm(out, { force: true });
    const med = (n: string) => median(times.get(n) ?? [NaN]);
    /** Median over the rounds of `reference`'s time over `path`'s in the same round. */
    const ratio = (reference: string, path: string) =>
      median(times.get(path)!.map((t, i) => times.get(reference)![i]! / t));
    for (const p of paths) {
      const t = med(p.name);
      const nbd = p.dir === 'import' ? 'nbdcopy write' : 'nbdcopy read';
      let line = `  ${p.name.padEnd(22)} ${mbps(size, t)}  ${nbd.padEnd(13)} ratio ${mark(ratio(nbd, p.name), 0.8)}`;
      if (p.ref === 'xe') {
        line += `  xe/curl ${mark(ratio(`curl ${p.dir === 'import' ? 'PUT import' : 'GET export'} ${p.format}`, p.name), 0.9)}`;
      }
      const c = cpu.get(p.name)!;
      line += `  CPU s/GiB server ${median(c.server).toFixed(2)} client ${median(c.client).toFixed(2)}`;
      console.log(line);
    }
    if (paths.some((p) => p.ref === 'xe' && p.dir === 'import')) {
      // What a command costs besides its bytes (a process's start, the login and calls around
      // the transfer): xe's and curl's time for a 1 MiB import, side by side. The part of a
      // ratio above that it does not explain is the transfer's own.
      const small = join(dir, 'small.raw');
      await writeRandom(small, 1);
      const fixed = { xe: [] as number[], curl: [] as number[] };
      for (let i = 0; i < 10; i++) {
        fixed.xe.push(await timed(() => xe('vdi-import', `uuid=${uuid}`, `filename=${small}`, 'format=raw')));
        fixed.curl.push(await timed(() => curl('-T', small, importUrl('raw'))));
      }
      const ms = (t: number) => `${(t * 1000).toFixed(0)} ms`;
      console.log(`  one command's own cost (a 1 MiB raw import, median of 10): xe ${ms(median(fixed.xe))}, curl ${ms(median(fixed.curl))}`);
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
