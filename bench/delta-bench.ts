/**
 * @module
 * An incremental backup's export costs what changed, not the disk: `GET /export_raw_vdi?
 * format=vhd&base=` (what Xen Orchestra's incremental backups ask for) beside the full VHD
 * export of the same disk, in the same run. A 1 GiB disk of random data on the local file
 * SR is snapshotted, then 64 MiB of it is written over NBD, in 32 pieces of 2 MiB spread
 * over the disk, as a day of a VM's writes would be. Goal: the delta takes at most a
 * quarter of the full export's time (it holds a sixteenth of the data; both disks are read
 * only where a node of its own stores data). Each export is checked: the full one against
 * the disk, the delta's blocks against the pieces written. Plain HTTP and NBD: the point is
 * what is read, not the cipher. BENCH_MIB, BENCH_ROUNDS.
 */
import { randomFillSync } from 'node:crypto';
import { copyFile, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alternate, cpuSeconds, exec, haveTools, isletNbdUri, median, ratio, scratchBase, timed, writeRandom } from './nbd-bench-kit.js';
import { startBenchServer } from './islet-server-process.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const BLOCK = 2 * 1024 * 1024;
const PIECES = 32;

export async function run(): Promise<void> {
  const missing = await haveTools(['nbdcopy', 'curl', 'qemu-img']);
  if (missing) throw new Error(`delta bench needs ${missing}`);
  const mib = Number(process.env.BENCH_MIB ?? 1024);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const size = mib * 2 ** 20;
  const dir = await mkdtemp(join(await scratchBase(5 * size), 'islet-delta-'));
  const server = await startBenchServer(root, join(dir, 'data'), 'bench').catch(async (e: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
  try {
    const { rpc, session: s } = server;
    const vdi = await rpc('VDI.create', s, {
      name_label: 'delta bench', SR: server.defaultSr, virtual_size: size, type: 'user', sharable: false, read_only: false, other_config: {}, sm_config: {},
    });
    const [network] = await rpc('network.get_all', s);
    await rpc('network.add_purpose', s, network, 'insecure_nbd');
    const nbd = async () => isletNbdUri((await rpc('VDI.get_nbd_info', s, vdi))[0]);

    // The disk as the last backup saw it, then a day's writes: pieces at spread offsets.
    const disk = join(dir, 'disk.raw');
    await writeRandom(disk, mib);
    await exec('nbdcopy', ['--flush', disk, await nbd()]);
    const base = await rpc('VDI.snapshot', s, vdi, {});
    const changes = join(dir, 'changes.raw');
    const stride = Math.floor(size / PIECES / BLOCK) * BLOCK;
    const pieces = Array.from({ length: PIECES }, (_, i) => i * stride);
    {
      const fh = await open(changes, 'w');
      try {
        await fh.truncate(size);
        for (const at of pieces) await fh.write(randomFillSync(Buffer.allocUnsafe(BLOCK)), 0, BLOCK, at);
      } finally {
        await fh.close();
      }
    }
    // Only the data of the sparse file goes out: the disk keeps what it had elsewhere.
    await exec('nbdcopy', ['--destination-is-zero', '--flush', changes, await nbd()]);
    const now = join(dir, 'now.raw');
    await copyFile(disk, now);
    {
      const [from, to] = [await open(changes, 'r'), await open(now, 'r+')];
      try {
        const buf = Buffer.allocUnsafe(BLOCK);
        for (const at of pieces) {
          await from.read(buf, 0, BLOCK, at);
          await to.write(buf, 0, BLOCK, at);
        }
      } finally {
        await from.close();
        await to.close();
      }
    }

    const out = join(dir, 'out.vhd');
    const exportUrl = (query: string) => `${server.url}/export_raw_vdi?session_id=${s}&vdi=${vdi}&format=vhd${query}`;
    const paths = { full: exportUrl(''), delta: exportUrl(`&base=${base}`) };
    const times = { full: [] as number[], delta: [] as number[] };
    const serverCpu = { full: [] as number[], delta: [] as number[] };
    const bytes = { full: 0, delta: 0 };
    console.log(`delta: ${mib} MiB of random data on the local file SR, snapshotted, then ${PIECES} pieces of 2 MiB written over NBD; full VHD export vs the delta from the snapshot, ${rounds} rounds (+1 warm-up), medians`);
    for (let i = 0; i <= rounds; i++) {
      for (const which of alternate(i, 'full', 'delta') as Array<'full' | 'delta'>) {
        await rm(out, { force: true });
        const c0 = await cpuSeconds(server.process.pid!);
        const t = await timed(() => exec('curl', ['-sS', '--fail', '-o', out, paths[which]]));
        const c1 = await cpuSeconds(server.process.pid!);
        if (i === 0) {
          await check(which, out, now, pieces, dir);
          bytes[which] = (await stat(out)).size;
          continue;
        }
        times[which].push(t);
        serverCpu[which].push(c1 - c0);
      }
    }
    const [full, delta] = [median(times.full), median(times.delta)];
    console.log(`  full VHD export   ${full.toFixed(3)} s  ${String(bytes.full).padStart(11)} bytes  server CPU ${median(serverCpu.full).toFixed(2)} s`);
    console.log(`  delta from base   ${delta.toFixed(3)} s  ${String(bytes.delta).padStart(11)} bytes  server CPU ${median(serverCpu.delta).toFixed(2)} s`);
    console.log(`  full / delta time ${ratio(full / delta, 4)}  (the delta holds ${(bytes.delta / bytes.full * 100).toFixed(1)}% of the bytes)`);
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The full export reads as the disk; the delta holds exactly the pieces written, as written. */
async function check(which: 'full' | 'delta', vhd: string, now: string, pieces: number[], dir: string): Promise<void> {
  if (which === 'full') {
    await exec('qemu-img', ['compare', '-q', '-f', 'vpc', '-F', 'raw', vhd, now]);
    return;
  }
  const map = JSON.parse((await exec('qemu-img', ['map', '--output=json', '-f', 'vpc', vhd])).stdout) as Array<{ start: number; length: number; data: boolean }>;
  const held = map.filter((e) => e.data).flatMap((e) => Array.from({ length: Math.ceil(e.length / BLOCK) }, (_, k) => e.start + k * BLOCK));
  if (JSON.stringify(held) !== JSON.stringify(pieces)) throw new Error(`the delta holds blocks at ${held.join(', ')}, not the pieces written`);
  const raw = join(dir, 'delta.raw');
  await exec('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', vhd, raw]);
  const [got, want] = [await open(raw, 'r'), await open(now, 'r')];
  try {
    const [a, b] = [Buffer.alloc(BLOCK), Buffer.alloc(BLOCK)];
    for (const at of pieces) {
      await got.read(a, 0, BLOCK, at);
      await want.read(b, 0, BLOCK, at);
      if (!a.equals(b)) throw new Error(`the delta's block at ${at} is not the disk's`);
    }
  } finally {
    await got.close();
    await want.close();
  }
  await rm(raw);
}
