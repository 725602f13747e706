/**
 * @module
 * The older calls that act on a running VM's memory and CPU settings directly (balloon
 * target, shadow memory, scheduler parameters), kept for the clients that still send them.
 */
import { message, param, t } from './dsl.js';

export const vmLiveMemoryMessages = [
  message('set_memory_target_live', {
    doc: 'Asks a running VM to balloon to a target (superseded by the dynamic memory range)',
    params: [
      param('self', t.ref('VM'), 'The VM'),
      param('target', t.int, 'Bytes'),
    ],
    role: 'vm-power-admin',
    async: true,
  }),
  message('wait_memory_target_live', {
    doc: 'Returns once a running VM\'s memory has come within a mebibyte of its balloon target',
    params: [
      param('self', t.ref('VM'), 'The VM'),
    ],
    role: 'read-only',
    async: true,
  }),
  message('get_cooperative', {
    doc: 'Whether the VM\'s balloon driver reaches the targets it is given',
    params: [
      param('self', t.ref('VM'), 'The VM'),
    ],
    result: t.bool,
    resultDoc: 'False when a running VM has not reached its target',
    role: 'read-only',
    async: true,
  }),
  message('set_shadow_multiplier_live', {
    doc: 'Changes the shadow memory scale of a running HVM guest',
    params: [
      param('self', t.ref('VM'), 'The VM'),
      param('multiplier', t.float, 'The new scale, at least 1'),
    ],
    role: 'vm-power-admin',
    async: true,
  }),
  message('add_to_VCPUs_params_live', {
    doc: 'Adds a scheduler parameter to a running VM and applies it at once',
    params: [
      param('self', t.ref('VM'), 'The VM'),
      param('key', t.string, 'The parameter'),
      param('value', t.string, 'Its value'),
    ],
    role: 'vm-admin',
    async: true,
  }),
];
