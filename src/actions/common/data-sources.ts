/**
 * @module
 * What host and VM data source calls share: the figures live with the host that samples
 * them, so a call for another host's figures (or a VM running elsewhere) is run there,
 * through the pool link; this host answers from its collector. A name the latest sample
 * does not hold is refused as xcp-rrdd refuses it (`Datasource_missing`).
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { DataSources, DataSourceView } from '../../core/ports/metrics.js';
import type { Ref } from '../../core/ref.js';

/** A data source as XenAPI's `data_source` record. */
export function dataSourceRecord(v: DataSourceView) {
  return {
    name_label: v.name, name_description: v.description, enabled: v.enabled, standard: v.standard,
    units: v.units, min: v.min, max: v.max, value: v.value,
  };
}

export function missingDataSource(name: string): ApiError {
  return new ApiError('INTERNAL_ERROR', [`Datasource_missing ${name}`]);
}

/**
 * `local` with this host's collector when `host` is this host, else `method` with `args`
 * on `host` (which then answers locally).
 */
export async function onSamplingHost<T>(
  ctx: ActionContext, host: Ref<'host'>, method: string, args: readonly unknown[], local: (m: DataSources) => T,
): Promise<T> {
  const s = ctx.services;
  if (host === s.hostRef) {
    if (!s.metrics) throw new ApiError('INTERNAL_ERROR', ['this host keeps no metrics']);
    return local(s.metrics);
  }
  if (!s.pool) throw new ApiError('HOST_OFFLINE', [host]);
  return (await s.pool.callOnHost(host, method, args)) as T;
}
