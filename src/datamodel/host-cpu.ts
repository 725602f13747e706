/**
 * @module
 * One physical CPU of a host, as the host reads it from its own machine.
 */
import { cls, runtime, rw, t } from './dsl.js';

export const hostCpu = cls('host_cpu', {
  doc: 'A physical CPU of a host and how busy it is',
  writeRole: 'pool-operator',
  fields: [
    runtime('host', t.ref('host'), 'The host this CPU belongs to'),
    runtime('number', t.int, 'Index of the CPU in the host, from 0'),
    runtime('vendor', t.string, 'Who made the CPU'),
    runtime('speed', t.int, 'Clock rate in MHz'),
    runtime('modelname', t.string, 'The CPU\'s marketing name'),
    runtime('family', t.int, 'CPU family number'),
    runtime('model', t.int, 'CPU model number'),
    runtime('stepping', t.string, 'CPU stepping (revision)'),
    runtime('flags', t.string, 'Feature flags, space-separated, as the kernel lists them'),
    runtime('features', t.string, 'Feature words as a hexadecimal mask'),
    runtime('utilisation', t.float, 'Fraction of time the CPU was busy over the last interval, 0..1'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
  ],
});
