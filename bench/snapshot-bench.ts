/**
 * @module
 * Snapshot latency does not depend on disk size: p50 of `VM.snapshot` for a VM with four
 * 1 GiB disks beside one with four 1 TiB disks, on a real `islet server` and its local
 * file SR. Goal: the same within noise, and at most 50 ms.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBenchServer } from './islet-server-process.js';
import { makeVm, p50, rpc } from './snapshot-kit.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const GiB = 1024 ** 3;

export async function run(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
  const dir = await mkdtemp(join(tmpdir(), 'islet-bench-'));
  const server = await startBenchServer(root, dir, 'bench', { showLog: true }).catch(async (e: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
  try {
    const { url, session: s, defaultSr: sr } = server;
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
    console.log(`snapshot: VM.snapshot p50 over ${rounds} snapshots each, VM with 4 VDIs, local file SR`);
    console.log(`  4 x 1 GiB   ${a.toFixed(1)} ms`);
    console.log(`  4 x 1 TiB   ${b.toFixed(1)} ms`);
    console.log(`  ratio 1 TiB / 1 GiB  ${(b / a).toFixed(2)}  (goal: same within noise; both <= 50 ms)`);
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
