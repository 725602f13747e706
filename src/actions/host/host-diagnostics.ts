/**
 * @module
 * `host.islet_diagnostics`: the figures `xe diagnostic-timing-stats`, `-gc-stats`,
 * `-compact` and `-db-stats` print, from the toolstack of the host asked (its own, through
 * the pool link, for another host): per-call timings as the dispatcher recorded them, the
 * heap and its collections, and the database's generation and object counts.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { compactHeap, gcStats } from '../../core/process-stats.js';
import { classes } from '../../datamodel/index.js';
import { mustRow } from '../common/storage-access.js';

async function dbStats(ctx: ActionContext): Promise<Record<string, string>> {
  const out: Record<string, string> = { generation: String(ctx.db.generation) };
  const file = await stat(join(ctx.services.dataDir, 'pool.db')).catch(() => undefined);
  if (file) out.file_bytes = String(file.size);
  for (const c of classes) {
    let n = 0;
    try {
      n = ctx.db.count(c.name);
    } catch {
      continue; // a class that is never stored (event)
    }
    if (n > 0) out[`objects:${c.name}`] = String(n);
  }
  return out;
}

async function localFigures(ctx: ActionContext, kind: string): Promise<Record<string, string>> {
  switch (kind) {
    case 'timing': return ctx.services.callStats?.summary() ?? {};
    case 'gc': return gcStats();
    case 'compact': {
      const before = gcStats().heap_used_bytes!;
      const after = compactHeap();
      return { ...gcStats(), heap_used_before_bytes: before, heap_used_after_bytes: String(after) };
    }
    case 'db': return dbStats(ctx);
    default: throw new ApiError('VALUE_NOT_SUPPORTED', ['kind', kind, 'one of timing, gc, compact, db']);
  }
}

export const hostDiagnosticActions = {
  islet_diagnostics: async (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    const s = ctx.services;
    if (a.host === s.hostRef) return localFigures(ctx, a.kind);
    if (!s.pool) throw new ApiError('HOST_OFFLINE', [a.host]);
    return (await s.pool.callOnHost(a.host, 'host.islet_diagnostics', [a.host, a.kind])) as Record<string, string>;
  },
} satisfies ActionsOf<'host'>;
