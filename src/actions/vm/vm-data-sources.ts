/**
 * @module
 * VM.get_data_sources, query_data_source, record_data_source and
 * forget_data_source_archives: the figures the host running a VM samples for it (vCPUs,
 * memory, VIF and VBD throughput), answered by that host. A VM that does not run has
 * none; asking for one of its figures is refused as xapi refuses it (VM_BAD_POWER_STATE).
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { Ref } from '../../core/ref.js';
import { isNullRef } from '../../core/ref.js';
import { dataSourceRecord, missingDataSource, onSamplingHost } from '../common/data-sources.js';
import { mustRow } from '../common/storage-access.js';

/** The host the VM runs on, and its uuid; undefined when it is not running or paused there. */
function running(ctx: ActionContext, vm: Ref<'VM'>): { host: Ref<'host'>; uuid: string } | undefined {
  const row = mustRow(ctx, 'VM', vm);
  const live = row.power_state === 'Running' || row.power_state === 'Paused';
  return live && !isNullRef(row.resident_on) ? { host: row.resident_on, uuid: String(row.uuid) } : undefined;
}

function mustRun(ctx: ActionContext, vm: Ref<'VM'>): { host: Ref<'host'>; uuid: string } {
  const r = running(ctx, vm);
  if (!r) throw new ApiError('VM_BAD_POWER_STATE', [vm, 'running', String(mustRow(ctx, 'VM', vm).power_state).toLowerCase()]);
  return r;
}

export const vmDataSourceActions = {
  get_data_sources: async (ctx, a) => {
    const r = running(ctx, a.self);
    if (!r) return [];
    return onSamplingHost(ctx, r.host, 'VM.get_data_sources', [a.self], (m) => m.dataSources({ kind: 'vm', uuid: r.uuid }).map(dataSourceRecord));
  },
  query_data_source: async (ctx, a) => {
    const r = mustRun(ctx, a.self);
    const v = await onSamplingHost(ctx, r.host, 'VM.query_data_source', [a.self, a.data_source], (m) => m.query({ kind: 'vm', uuid: r.uuid }, a.data_source) ?? null);
    if (v === null) throw missingDataSource(a.data_source);
    return v;
  },
  record_data_source: async (ctx, a) => {
    const r = mustRun(ctx, a.self);
    await onSamplingHost(ctx, r.host, 'VM.record_data_source', [a.self, a.data_source], (m) => {
      if (!m.record({ kind: 'vm', uuid: r.uuid }, a.data_source)) throw missingDataSource(a.data_source);
    });
    return '';
  },
  forget_data_source_archives: async (ctx, a) => {
    const r = mustRun(ctx, a.self);
    await onSamplingHost(ctx, r.host, 'VM.forget_data_source_archives', [a.self, a.data_source], (m) => {
      if (!m.forget({ kind: 'vm', uuid: r.uuid }, a.data_source)) throw missingDataSource(a.data_source);
    });
    return '';
  },
} satisfies ActionsOf<'VM'>;
