/**
 * @module
 * Data sources: the figures a host samples every 5 s for itself and for the VMs it runs
 * (the ones `/rrd_updates` serves), described one by one with their latest value, and the
 * host and VM messages that list, query, record and forget them. Never stored: each host
 * answers for its own figures and for the VMs resident on it.
 */
import { cls, message, param, runtime, t } from './dsl.js';

export const dataSource = cls('data_source', {
  doc: 'A figure a host samples for itself or a VM, kept in its round-robin archives',
  persist: false,
  writeRole: 'pool-operator',
  accessors: false,
  uuid: false,
  fields: [
    runtime('name_label', t.string, 'The data source\'s name, as /rrd_updates names its column'),
    runtime('name_description', t.string, 'What the figure measures'),
    runtime('enabled', t.bool, 'Whether the figure is being recorded in the archives'),
    runtime('standard', t.bool, 'Whether the figure is recorded without being asked for'),
    runtime('units', t.string, 'The unit of the figure'),
    runtime('min', t.float, 'The least value the figure can take'),
    runtime('max', t.float, 'The greatest value the figure can take'),
    runtime('value', t.float, 'The latest value, over the last 5 s'),
  ],
});

const name = param('data_source', t.string, 'The data source\'s name');

export const hostDataSourceMessages = [
  message('get_data_sources', {
    doc: 'Lists the figures the host samples for itself',
    params: [param('host', t.ref('host'), 'The host')],
    result: t.set(t.record('data_source')),
    resultDoc: 'The host\'s data sources',
    role: 'read-only',
  }),
  message('record_data_source', {
    doc: 'Starts recording one of the host\'s figures in its archives',
    params: [param('host', t.ref('host'), 'The host'), name],
    role: 'pool-operator',
  }),
  message('query_data_source', {
    doc: 'Returns the latest value of one of the host\'s figures',
    params: [param('host', t.ref('host'), 'The host'), name],
    result: t.float,
    resultDoc: 'The latest value, over the last 5 s',
    role: 'read-only',
  }),
  message('forget_data_source_archives', {
    doc: 'Drops the history recorded for one of the host\'s figures',
    params: [param('host', t.ref('host'), 'The host'), name],
    role: 'pool-operator',
  }),
];

export const vmDataSourceMessages = [
  message('get_data_sources', {
    doc: 'Lists the figures the VM\'s host samples for it',
    params: [param('self', t.ref('VM'), 'The VM')],
    result: t.set(t.record('data_source')),
    resultDoc: 'The VM\'s data sources (none while it does not run)',
    role: 'read-only',
  }),
  message('record_data_source', {
    doc: 'Starts recording one of the VM\'s figures in its archives',
    params: [param('self', t.ref('VM'), 'The VM'), name],
    role: 'vm-admin',
  }),
  message('query_data_source', {
    doc: 'Returns the latest value of one of a running VM\'s figures',
    params: [param('self', t.ref('VM'), 'The VM'), name],
    result: t.float,
    resultDoc: 'The latest value, over the last 5 s',
    errors: ['VM_BAD_POWER_STATE'],
    role: 'read-only',
  }),
  message('forget_data_source_archives', {
    doc: 'Drops the history recorded for one of the VM\'s figures',
    params: [param('self', t.ref('VM'), 'The VM'), name],
    role: 'vm-admin',
  }),
];
