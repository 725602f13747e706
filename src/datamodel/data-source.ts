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

/**
 * The four data source messages of a class whose objects have figures (host, VM), on the
 * object named by its `self` parameter (`host` for a host, `self` for a VM, as XenAPI has
 * them). `whose` says whose figures they are in the docs.
 */
function dataSourceMessages<const N extends string, const C extends string>(
  self: N, cls: C, whose: string, writeRole: 'pool-operator' | 'vm-admin', queryErrors: readonly string[] = [],
) {
  const owner = param(self, t.ref(cls), `The ${cls}`);
  return [
    message('get_data_sources', {
      doc: `Lists the figures sampled for ${whose}`,
      params: [owner],
      result: t.set(t.record('data_source')),
      resultDoc: 'The data sources',
      role: 'read-only',
    }),
    message('record_data_source', {
      doc: `Starts recording one of the figures of ${whose} in the archives`,
      params: [owner, name],
      role: writeRole,
    }),
    message('query_data_source', {
      doc: `Returns the latest value of one of the figures of ${whose}`,
      params: [owner, name],
      result: t.float,
      resultDoc: 'The latest value, over the last 5 s',
      errors: queryErrors,
      role: 'read-only',
    }),
    message('forget_data_source_archives', {
      doc: `Drops the history recorded for one of the figures of ${whose}`,
      params: [owner, name],
      role: writeRole,
    }),
  ];
}

export const hostDataSourceMessages = dataSourceMessages('host', 'host', 'the host itself', 'pool-operator');
// A VM has figures only while it runs (get_data_sources is then empty).
export const vmDataSourceMessages = dataSourceMessages('self', 'VM', 'a running VM, by its host', 'vm-admin', ['VM_BAD_POWER_STATE']);
