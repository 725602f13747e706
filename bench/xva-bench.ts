/**
 * @module
 * `npm run bench -- xva`: `xe vm-export` and `xe vm-import` of a VM with a 1 GiB disk of
 * random data, beside `nbdcopy` reading the same disk from the host's NBD server into a
 * file and `tar` of the raw file, in the same run (same scratch file system, same server).
 * Goal: export and import each at least 0.8× nbdcopy's throughput. Medians of the rounds;
 * each round removes what it made. The disk's SHA-256 is checked once after an import, so
 * a fast wrong answer cannot pass. Like is compared with like: by default xe talks HTTPS (it is
 * given `-s localhost`, since xe never uses TLS to 127.0.0.1) and nbdcopy reads over NBD with
 * TLS (network purpose `nbd`); with BENCH_PLAIN=1 xe talks plain HTTP (`--nossl`) and nbdcopy
 * plain NBD (purpose `insecure_nbd`). The header line names the mode. XVA_BENCH_MIB and
 * XVA_BENCH_ROUNDS (or BENCH_MIB and BENCH_ROUNDS) set the size and the rounds.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { XapiClient } from '../src/client/xapi-client.js';
import { startIslet } from '../test/helpers/islet-server.js';
import { repoRoot } from '../test/helpers/repo-root.js';
import { diskOf, importImage, vmWithDisk } from '../test/storage/acceptance/storage-fixture.js';
import { MiniClient } from '../test/storage/nbd/mini-client.js';
import { cpuSeconds, exec, fmt, haveTools, isletNbdUri, median, ratio, scratchBase, timed, writeRandom, type IsletNbdInfo } from './nbd-bench-kit.js';
import { ensureXeBundle } from './xe-bundle.js';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.XVA_BENCH_MIB ?? process.env.BENCH_MIB ?? 1024);
const ROUNDS = Number(process.env.XVA_BENCH_ROUNDS ?? process.env.BENCH_ROUNDS ?? 3);
const PLAIN = process.env.BENCH_PLAIN === '1';
const PW = 'bench-pw';

/** CPU seconds of this process's waited-for children (the xe runs): cutime + cstime, CLK_TCK 100. */
async function childCpu(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

async function fileSha(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(c as Buffer);
  return h.digest('hex');
}

export async function run(): Promise<void> {
  await ensureXeBundle(repoRoot());
  const missing = await haveTools(['nbdcopy', 'tar']);
  if (missing) throw new Error(`xva bench needs ${missing}`);
  const base = await scratchBase(5 * SIZE_MIB * MiB);
  const dir = await mkdtemp(join(base, 'xva-bench-'));
  // BENCH_SERVER_NODE_ARGS (say `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to the server's node.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_XE_NODE_ARGS goes to each xe's node, the same way (to profile the client side).
  const xeNodeArgs = (process.env.BENCH_XE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const islet = await startIslet({ rootPassword: PW, dataDir: join(dir, 'islet'), ownsDataDir: false, nodeArgs });
  const api = new XapiClient({ url: islet.url });
  const held: MiniClient[] = [];
  try {
    await api.login('root', PW);
    const [pool] = (await api.call('pool.get_all')) as string[];
    const sr = String(await api.call('pool.get_default_SR', pool));
    const srUuid = String(await api.call('SR.get_uuid', sr));
    const src = join(dir, 'disk.raw');
    await writeRandom(src, SIZE_MIB);
    const want = await fileSha(src);
    const { vm, vdi } = await vmWithDisk(api, sr, 'xva-bench', SIZE_MIB * MiB);
    await importImage(api, vdi, { path: src });
    const vmUuid = String(await api.call('VM.get_uuid', vm));
    const [net] = (await api.call('network.get_all')) as string[];
    await api.call('network.add_purpose', net, PLAIN ? 'insecure_nbd' : 'nbd');
    const [info] = (await api.call('VDI.get_nbd_info', vdi)) as IsletNbdInfo[];
    if (!info) throw new Error('the host announces no NBD export of the disk');
    // A held idle connection keeps the disk's chain open between the readers. The test client
    // speaks no TLS, so with purpose `nbd` (TLS required) each nbdcopy opens the chain itself.
    if (PLAIN) held.push(await MiniClient.connect(Number(info.port), { exportName: info.exportname }, info.address));
    const uri = await isletNbdUri(info, PLAIN ? undefined : dir);
    const xe = (...args: string[]) => new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [...xeNodeArgs, join(repoRoot(), 'bin', 'xe'), '-s', PLAIN ? '127.0.0.1' : 'localhost', '-p', String(islet.port), '-pw', PW, ...(PLAIN ? ['--nossl'] : []), ...args],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('error', reject);
      child.on('close', (code) => code === 0 ? resolve(out.trim()) : reject(new Error(`xe ${args.join(' ')}: ${code}\n${out}${err}`)));
    });

    const t = { nbd: [] as number[], tar: [] as number[], exp: [] as number[], imp: [] as number[] };
    // CPU seconds per GiB of the server and of xe, for export and import.
    const cpu = { expServer: [] as number[], expClient: [] as number[], impServer: [] as number[], impClient: [] as number[] };
    const gib = (SIZE_MIB * MiB) / 2 ** 30;
    const withCpu = async (server: number[], client: number[], go: () => Promise<unknown>): Promise<number> => {
      const [s0, c0] = [await cpuSeconds(islet.child.pid!), await childCpu()];
      const seconds = await timed(go);
      server.push(((await cpuSeconds(islet.child.pid!)) - s0) / gib);
      client.push(((await childCpu()) - c0) / gib);
      return seconds;
    };
    let xvaBytes = 0;
    let checked = false;
    console.log(`xva: ${PLAIN ? 'HTTP vs plain NBD' : 'HTTPS vs NBD over TLS'} (xe vs nbdcopy); ${SIZE_MIB} MiB disk of random data on the local file SR (${base}), median of ${ROUNDS} rounds`);
    for (let r = 0; r < ROUNDS; r++) {
      const out = join(dir, 'out.raw');
      t.nbd.push(await timed(() => exec('nbdcopy', [uri, out])));
      await rm(out, { force: true });
      const tarFile = join(dir, 'raw.tar');
      t.tar.push(await timed(() => exec('tar', ['-cf', tarFile, '-C', dir, 'disk.raw'])));
      await rm(tarFile, { force: true });
      const xva = join(dir, 'vm.xva');
      t.exp.push(await withCpu(cpu.expServer, cpu.expClient, () => xe('vm-export', `uuid=${vmUuid}`, `filename=${xva}`)));
      xvaBytes = (await stat(xva)).size;
      let copy = '';
      t.imp.push(await withCpu(cpu.impServer, cpu.impClient, async () => { copy = await xe('vm-import', `filename=${xva}`, `sr-uuid=${srUuid}`); }));
      await rm(xva, { force: true });
      const copyRef = String(await api.call('VM.get_by_uuid', copy));
      const copyDisk = await diskOf(api, copyRef);
      if (!checked) {
        const back = join(dir, 'back.raw');
        await xe('vdi-export', `uuid=${String(await api.call('VDI.get_uuid', copyDisk))}`, `filename=${back}`);
        const got = await fileSha(back);
        await rm(back, { force: true });
        if (got !== want) throw new Error(`the imported disk differs from the original (${got} vs ${want})`);
        checked = true;
      }
      for (const vbd of (await api.call('VM.get_VBDs', copyRef)) as string[]) await api.call('VBD.destroy', vbd);
      await api.call('VDI.destroy', copyDisk);
      await api.call('VM.destroy', copyRef);
    }
    const bytes = SIZE_MIB * MiB;
    const [nbd, tar, exp, imp] = [median(t.nbd), median(t.tar), median(t.exp), median(t.imp)];
    console.log(`  nbdcopy ${PLAIN ? 'nbd:// ' : 'nbds://'} -> file  ${fmt(bytes, nbd)}`);
    console.log(`  tar of the raw file      ${fmt(bytes, tar)}`);
    console.log(`  xe vm-export -> .xva     ${fmt(bytes, exp)}  (XVA ${(xvaBytes / MiB).toFixed(0)} MiB)`);
    console.log(`  xe vm-import <- .xva     ${fmt(bytes, imp)}  (disk SHA-256 checked)`);
    const c = (xs: number[]) => median(xs).toFixed(2);
    console.log(`  cpu/GiB: export server ${c(cpu.expServer)} s xe ${c(cpu.expClient)} s; import server ${c(cpu.impServer)} s xe ${c(cpu.impClient)} s`);
    console.log(`  export/nbdcopy ${ratio(nbd / exp, 0.8)}   import/nbdcopy ${ratio(nbd / imp, 0.8)}   export/tar ${(tar / exp).toFixed(2)}`);
  } finally {
    for (const c of held) await c.disconnect().catch(() => undefined);
    await api.logout().catch(() => undefined);
    api.close();
    await islet.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
