/**
 * @module
 * Host evacuation: a real 3-host pool (`islet pool up`) whose simulators copy migrating
 * memory at a fixed rate, 20 VMs running on the master, then one `host.evacuate`. Every
 * migration takes memory / rate; with at most `batch` in flight the evacuation cannot end
 * before ceil(VMs / batch) such rounds, which is the lower bound the measured time is
 * compared with. Goal: ratio <= 1.2. `BENCH_EVACUATE_VMS`, `BENCH_EVACUATE_RATE` (MiB/s),
 * `BENCH_EVACUATE_MEMORY` (MiB per VM) and `BENCH_EVACUATE_BATCH` change the set-up.
 */
import { startPool } from '../test/helpers/islet-pool.js';
import { completeRecord } from '../src/client/create-record.js';

const MiB = 1024 * 1024;

export async function run(): Promise<void> {
  const vms = Number(process.env.BENCH_EVACUATE_VMS ?? 20);
  const rate = Number(process.env.BENCH_EVACUATE_RATE ?? 128);
  const memory = Number(process.env.BENCH_EVACUATE_MEMORY ?? 512);
  const batch = Number(process.env.BENCH_EVACUATE_BATCH ?? 10);
  const hostMemory = `${Math.ceil((vms * (memory + 8)) / 1024) + 2}G`;
  const pool = await startPool({ hosts: 3, migrationRate: rate, memory: hostMemory, rootPassword: 'bench' });
  const c = await pool.client();
  try {
    const master = await pool.hostRef(0);
    const refs: string[] = [];
    for (let i = 0; i < vms; i++) {
      const m = memory * MiB;
      const vm = String(await c.call('VM.create', completeRecord('VM', {
        name_label: `bench${i}`, memory_static_max: m, memory_dynamic_max: m, memory_dynamic_min: m, memory_static_min: m,
        VCPUs_max: 1, VCPUs_at_startup: 1,
      })));
      await c.call('VM.start_on', vm, master, false, false);
      refs.push(vm);
    }
    await c.call('host.disable', master);
    const t0 = performance.now();
    await c.call('host.evacuate', master, 'OpaqueRef:NULL', batch);
    const seconds = (performance.now() - t0) / 1000;
    // The master's control domain stays where it is: only guests are evacuated.
    const resident = (await c.call('host.get_resident_VMs', master)) as string[];
    const left: string[] = [];
    for (const vm of resident) if (!(await c.call('VM.get_is_control_domain', vm))) left.push(vm);
    if (left.length > 0) throw new Error(`${left.length} VMs still on the master`);
    const perVm = memory / rate;
    const bound = Math.ceil(vms / batch) * perVm;
    const ratio = seconds / bound;
    process.stdout.write(
      `evacuate: ${vms} VMs x ${memory} MiB at ${rate} MiB/s, batch ${batch}, 3 hosts\n`
      + `  measured ${seconds.toFixed(2)} s, lower bound ${bound.toFixed(2)} s (${Math.ceil(vms / batch)} rounds x ${perVm.toFixed(2)} s)\n`
      + `  ratio ${ratio.toFixed(3)} (goal <= 1.2) ${ratio <= 1.2 ? 'OK' : 'MISSED'}\n`,
    );
  } finally {
    c.close();
    await pool.stop();
  }
}
