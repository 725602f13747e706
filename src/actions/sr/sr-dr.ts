/**
 * @module
 * The SR calls of HA and disaster recovery set-up, with XenServer 6.0.2's checks: every
 * host must have a plugged PBD to the SR (SR_HAS_NO_PBDS), and the SR's driver must
 * declare the capability in its SM record (VDI_GENERATE_CONFIG for an HA state file,
 * SR_METADATA for a database copy), else SR_OPERATION_NOT_SUPPORTED; no driver here
 * declares either. Disabling replication removes the pool's metadata VDIs on the SR, of
 * which there are none while enabling is refused. SR.make is deprecated: MESSAGE_DEPRECATED.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';

function assertEveryHostSees(ctx: ActionContext, sr: Ref<'SR'>, capability: string): void {
  const row = mustRow(ctx, 'SR', sr);
  const pbds = ctx.db.all('PBD').filter(([, p]) => p.SR === sr);
  const seen = new Set(pbds.map(([, p]) => p.host));
  if (ctx.db.all('host').some(([h]) => !seen.has(h))) throw new ApiError('SR_HAS_NO_PBDS', [sr]);
  if (pbds.some(([, p]) => p.currently_attached !== true)) throw new ApiError('SR_HAS_NO_PBDS', [sr]);
  const sm = ctx.db.all('SM').find(([, s]) => s.type === row.type)?.[1];
  if (!(capability in ((sm?.features ?? {}) as Record<string, number>))) throw new ApiError('SR_OPERATION_NOT_SUPPORTED', [sr]);
}

export const srDrActions = {
  make: () => {
    throw new ApiError('MESSAGE_DEPRECATED', []);
  },
  assert_can_host_ha_statefile: (ctx, a) => {
    assertEveryHostSees(ctx, a.sr, 'VDI_GENERATE_CONFIG');
    return '';
  },
  assert_supports_database_replication: (ctx, a) => {
    assertEveryHostSees(ctx, a.sr, 'SR_METADATA');
    return '';
  },
  enable_database_replication: (ctx, a) => {
    assertEveryHostSees(ctx, a.sr, 'SR_METADATA');
    // A driver declaring SR_METADATA would be written to here; none does.
    throw new ApiError('SR_OPERATION_NOT_SUPPORTED', [a.sr]);
  },
  disable_database_replication: (ctx, a) => {
    mustRow(ctx, 'SR', a.sr);
    return '';
  },
} satisfies ActionsOf<'SR'>;
