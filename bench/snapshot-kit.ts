/**
 * @module
 * What the VM.snapshot benches share (file SR, NetApp, EqualLogic): a JSON-RPC call, a VM
 * with four disks of a given size on an SR, and the median of the rounds.
 */
import { completeRecord } from '../src/client/create-record.js';
import { rpc } from './islet-server-process.js';

export { rpc };

export async function makeVm(url: string, s: string, sr: string, name: string, diskSize: number): Promise<string> {
  const vm = await rpc(url, 'VM.create', s, completeRecord('VM', {
    name_label: name, memory_static_max: 256 * 1024 ** 2, memory_dynamic_max: 256 * 1024 ** 2,
    memory_dynamic_min: 256 * 1024 ** 2, memory_static_min: 256 * 1024 ** 2, VCPUs_max: 1, VCPUs_at_startup: 1,
  }));
  for (let i = 0; i < 4; i++) {
    const vdi = await rpc(url, 'VDI.create', s, {
      name_label: `${name} disk ${i}`, SR: sr, virtual_size: diskSize, type: 'user', sharable: false, read_only: false,
      other_config: {}, sm_config: {},
    });
    await rpc(url, 'VBD.create', s, {
      VM: vm, VDI: vdi, userdevice: String(i), bootable: i === 0, mode: 'RW', type: 'Disk', empty: false,
      other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {},
    });
  }
  return vm;
}

export function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
