/**
 * @module
 * host.get_data_sources, query_data_source, record_data_source and
 * forget_data_source_archives: the figures a host samples for itself (CPU, memory, load,
 * network and SR throughput), answered by that host.
 */
import type { ActionsOf } from '../../core/actions-of.js';
import { dataSourceRecord, missingDataSource, onSamplingHost } from '../common/data-sources.js';
import { mustRow } from '../common/storage-access.js';

const HOST = { kind: 'host' } as const;

export const hostDataSourceActions = {
  get_data_sources: (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    return onSamplingHost(ctx, a.host, 'host.get_data_sources', [a.host], (m) => m.dataSources(HOST).map(dataSourceRecord));
  },
  query_data_source: async (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    const v = await onSamplingHost(ctx, a.host, 'host.query_data_source', [a.host, a.data_source], (m) => m.query(HOST, a.data_source) ?? null);
    if (v === null) throw missingDataSource(a.data_source);
    return v;
  },
  record_data_source: async (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    await onSamplingHost(ctx, a.host, 'host.record_data_source', [a.host, a.data_source], (m) => {
      if (!m.record(HOST, a.data_source)) throw missingDataSource(a.data_source);
    });
    return '';
  },
  forget_data_source_archives: async (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    await onSamplingHost(ctx, a.host, 'host.forget_data_source_archives', [a.host, a.data_source], (m) => {
      if (!m.forget(HOST, a.data_source)) throw missingDataSource(a.data_source);
    });
    return '';
  },
} satisfies ActionsOf<'host'>;
