/**
 * @module
 * Rolling pool update: a real 3-host pool (`islet pool up`) whose simulators copy migrating
 * memory at a fixed rate, 10 VMs running on each host, and one `pool.islet_rolling_update`
 * of an update that asks for a reboot. The run cannot be shorter than, for each host, its
 * reboot plus moving its VMs off and back, `batch` migrations at a time, each taking
 * memory / rate. The reboot time is measured first on an empty member (disable, reboot, until
 * it is live with a later boot time). The measured run is compared with that lower bound;
 * goal: ratio <= 1.2. `BENCH_ROLLING_VMS` (per host), `BENCH_ROLLING_RATE` (MiB/s),
 * `BENCH_ROLLING_MEMORY` (MiB per VM) and `BENCH_ROLLING_BATCH` change the set-up.
 */
import type { XapiClient } from '../src/client/xapi-client.js';
import { startPool, waitFor, type IsletPool } from '../test/helpers/islet-pool.js';
import { UpdateFixture } from '../test/updates/update-fixture.js';
import { completeRecord } from '../src/client/create-record.js';

const MiB = 1024 * 1024;

async function otherConfig(c: XapiClient, host: string): Promise<Record<string, string>> {
  return (await c.call('host.get_other_config', host)) as Record<string, string>;
}

/** Seconds a member takes from `host.reboot` until it is live again with a later boot time. */
async function measureReboot(c: XapiClient, host: string): Promise<number> {
  const before = Number((await otherConfig(c, host)).boot_time);
  const metrics = await c.call('host.get_metrics', host);
  await c.call('host.disable', host);
  const t0 = performance.now();
  await c.call('host.reboot', host);
  await waitFor(async () => Number((await otherConfig(c, host)).boot_time) > before && (await c.call('host_metrics.get_live', metrics)) === true, 120_000, 'the reboot', 20);
  const s = (performance.now() - t0) / 1000;
  await c.call('host.enable', host);
  return s;
}

async function upload(c: XapiClient, path: string): Promise<string> {
  const r = await c.putFile('/pool_patch_upload', {}, { path });
  return String(await c.call('pool_patch.get_pool_update', r.body));
}

export async function run(): Promise<void> {
  const perHost = Number(process.env.BENCH_ROLLING_VMS ?? 10);
  const rate = Number(process.env.BENCH_ROLLING_RATE ?? 256);
  const memory = Number(process.env.BENCH_ROLLING_MEMORY ?? 512);
  const batch = Number(process.env.BENCH_ROLLING_BATCH ?? 10);
  const hostMemory = `${Math.ceil((2 * perHost * (memory + 8)) / 1024) + 2}G`;
  const fx = await UpdateFixture.create();
  let pool: IsletPool | undefined;
  let c: XapiClient | undefined;
  try {
    pool = await startPool({ hosts: 3, migrationRate: rate, memory: hostMemory, rootPassword: 'bench', args: ['--update-key', fx.keyFile] });
    c = await pool.client();
    const refs: string[] = [];
    for (let i = 0; i < 3; i++) refs.push(await pool.hostRef(i));
    const reboot = await measureReboot(c, refs[2]!);
    for (let i = 0; i < 3 * perHost; i++) {
      const m = memory * MiB;
      const vm = String(await c.call('VM.create', completeRecord('VM', {
        name_label: `roll${i}`, memory_static_max: m, memory_dynamic_max: m, memory_dynamic_min: m, memory_static_min: m,
        VCPUs_max: 1, VCPUs_at_startup: 1,
      })));
      await c.call('VM.start_on', vm, refs[i % 3], false, false);
    }
    const update = await upload(c, (await fx.custom({ name: 'BENCH', guidance: ['restartHost'] })).path);
    const t0 = performance.now();
    await c.call('Async.pool.islet_rolling_update', update, { batch: String(batch) });
    // The master reboots during the run: follow the run record, logging in again as needed.
    const status = await waitFor(async () => {
      try {
        const runs = Object.values((await c!.call('islet_rolling_update.get_all_records')) as Record<string, Record<string, unknown>>);
        const st = runs[0]?.status;
        if (st === 'paused') throw Object.assign(new Error(`paused: ${String(runs[0]!.error_info)}`), { fatal: true });
        return st === 'done' ? st : undefined;
      } catch (e) {
        if ((e as { fatal?: boolean }).fatal) throw e;
        c!.close();
        c = await pool!.client().catch(() => c!);
        return undefined;
      }
    }, 1_800_000, 'the rolling update', 100);
    const seconds = (performance.now() - t0) / 1000;
    const perVm = memory / rate;
    const rounds = Math.ceil(perHost / batch);
    const bound = 3 * (reboot + 2 * rounds * perVm);
    const ratio = seconds / bound;
    process.stdout.write(
      `rolling: 3 hosts x ${perHost} VMs x ${memory} MiB at ${rate} MiB/s, batch ${batch}, reboot guidance (${status})\n`
      + `  measured ${seconds.toFixed(2)} s, lower bound ${bound.toFixed(2)} s `
      + `(3 x (reboot ${reboot.toFixed(2)} s + 2 x ${rounds} round(s) x ${perVm.toFixed(2)} s))\n`
      + `  ratio ${ratio.toFixed(3)} (goal <= 1.2) ${ratio <= 1.2 ? 'OK' : 'MISSED'}\n`,
    );
  } finally {
    c?.close();
    await pool?.stop();
    await fx.close();
  }
}
