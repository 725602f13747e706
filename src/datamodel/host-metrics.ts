/**
 * @module
 * Live measurements of a host, refreshed by the host itself.
 */
import { cls, runtime, rw, t } from './dsl.js';

export const hostMetrics = cls('host_metrics', {
  doc: 'Measurements of a host that change while it runs',
  writeRole: 'pool-operator',
  fields: [
    runtime('memory_total', t.int, 'Physical memory of the host, in bytes'),
    runtime('memory_free', t.int, 'Memory not used by any domain, in bytes'),
    runtime('live', t.bool, 'Whether the host is up and reporting'),
    runtime('last_updated', t.datetime, 'When these measurements were taken'),
    rw('other_config', t.smap, 'Free-form key/value settings for clients and tools'),
  ],
});
