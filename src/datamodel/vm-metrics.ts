/**
 * @module
 * Measurements of a VM that the host refreshes while it runs.
 */
import { cls, runtime, rw, t } from './dsl.js';
import { domainType } from './enums.js';

export const vmMetrics = cls('VM_metrics', {
  doc: 'Measurements of a VM that change while it runs',
  writeRole: 'vm-admin',
  fields: [
    runtime('memory_actual', t.int, 'Memory the VM has now, in bytes'),
    runtime('VCPUs_number', t.int, 'Virtual CPUs the VM has now'),
    runtime('VCPUs_CPU', t.map(t.int, t.int), 'Which physical CPU each virtual CPU last ran on'),
    runtime('VCPUs_params', t.smap, 'Scheduler settings in effect for the virtual CPUs'),
    runtime('VCPUs_flags', t.map(t.int, t.set(t.string)), 'State flags of each virtual CPU'),
    runtime('state', t.set(t.string), 'State flags of the domain'),
    runtime('start_time', t.datetime, 'When the VM last started'),
    runtime('install_time', t.datetime, 'When the VM was created'),
    runtime('last_updated', t.datetime, 'When these measurements were taken'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
    runtime('hvm', t.bool, 'Whether the running domain is fully virtualised'),
    runtime('nested_virt', t.bool, 'Whether the running domain may run its own hypervisor'),
    runtime('nomigrate', t.bool, 'Whether the running domain may not be migrated'),
    runtime('current_domain_type', t.enum(domainType), 'How the running domain is virtualised', { default: 'unspecified' }),
  ],
});
