/**
 * @module
 * Local storage caching and CPU feature masks, as XenServer 6.0.2 checks them. Caching is
 * switched on a disabled host running no guests (xapi's "bacon mode": HOST_NOT_DISABLED,
 * HOST_IN_USE), on an unshared SR with one PBD, on that host, whose driver declares
 * SR_SUPPORTS_LOCAL_CACHING in its SM record; no driver here does, so the last check
 * refuses with SR_OPERATION_NOT_SUPPORTED. A CPU feature mask needs a CPU that masks;
 * the hosts' hypervisor offers none, so a well-formed mask is refused with
 * CPU_FEATURE_MASKING_NOT_SUPPORTED, and resetting removes a mask that was never set.
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { Ref } from '../../core/ref.js';
import { NULL_REF, isNullRef } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';

/** The host must be disabled and run nothing but its control domain. */
export function assertBaconMode(ctx: ActionContext, host: Ref<'host'>): void {
  if (mustRow(ctx, 'host', host).enabled !== false) throw new ApiError('HOST_NOT_DISABLED', []);
  const guest = ctx.db.all('VM').find(([, vm]) => vm.resident_on === host && vm.power_state === 'Running' && vm.is_control_domain !== true);
  if (guest) throw new ApiError('HOST_IN_USE', [host, 'vm', guest[0]]);
}

function driverCanCache(ctx: ActionContext, type: string): boolean {
  const sm = ctx.db.all('SM').find(([, r]) => r.type === type);
  const features = (sm?.[1].features ?? {}) as Record<string, number>;
  return 'SR_SUPPORTS_LOCAL_CACHING' in features;
}

/** Four or more words of eight hex digits joined by hyphens, as xapi's cpu_info writes features. */
const FEATURES_RE = /^[0-9a-fA-F]{8}(-[0-9a-fA-F]{8}){3,}$/;

export const hostCachingActions = {
  enable_local_storage_caching: (ctx, a) => {
    assertBaconMode(ctx, a.host);
    const sr = mustRow(ctx, 'SR', a.sr);
    const pbds = ctx.db.all('PBD').filter(([, p]) => p.SR === a.sr);
    if (sr.shared === true || pbds.length !== 1 || !driverCanCache(ctx, String(sr.type))) {
      throw new ApiError('SR_OPERATION_NOT_SUPPORTED', []);
    }
    if (pbds[0]![1].host !== a.host) throw new ApiError('HOST_CANNOT_SEE_SR', [a.host, a.sr]);
    const old = mustRow(ctx, 'host', a.host).local_cache_sr;
    ctx.db.transaction(() => {
      if (!isNullRef(old) && ctx.db.get('SR', old)) ctx.db.update('SR', old, { local_cache_enabled: false });
      ctx.db.update('host', a.host, { local_cache_sr: a.sr });
      ctx.db.update('SR', a.sr, { local_cache_enabled: true });
    });
    return '';
  },
  disable_local_storage_caching: (ctx, a) => {
    assertBaconMode(ctx, a.host);
    const sr = mustRow(ctx, 'host', a.host).local_cache_sr;
    ctx.db.transaction(() => {
      ctx.db.update('host', a.host, { local_cache_sr: NULL_REF });
      if (!isNullRef(sr) && ctx.db.get('SR', sr)) ctx.db.update('SR', sr, { local_cache_enabled: false });
    });
    return '';
  },
  set_cpu_features: (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    if (!FEATURES_RE.test(a.features)) throw new ApiError('INVALID_FEATURE_STRING', [`not a feature string: ${a.features}`]);
    throw new ApiError('CPU_FEATURE_MASKING_NOT_SUPPORTED', ['this host\'s CPUs offer no feature masking']);
  },
  // No mask can have been set (set_cpu_features refuses), so the next boot has every feature already.
  reset_cpu_features: (ctx, a) => {
    mustRow(ctx, 'host', a.host);
    return '';
  },
} satisfies ActionsOf<'host'>;
