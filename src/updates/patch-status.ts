/**
 * @module
 * "Fully applied", "Partially applied" or "Not applied": an update's state in a pool as
 * XenCenter's General tab derives it from the API alone. On API 2.6 and later it counts
 * `pool_update.hosts`, before that the `pool_patch.host_patches` records; the state is
 * "Fully applied" when that count equals the number of hosts. Pure, with no imports, so the
 * web console and tests use the same rule as any client would.
 */

export const PatchStatus = {
  full: 'Fully applied',
  partial: 'Partially applied',
  none: 'Not applied',
} as const;
export type PatchStatus = (typeof PatchStatus)[keyof typeof PatchStatus];

export interface PatchStatusInput {
  readonly hostCount: number;
  /** The master's `API_version_major`/`_minor`. */
  readonly apiVersion: { readonly major: number; readonly minor: number };
  /** `pool_patch.host_patches` (refs of host_patch records), for APIs before 2.6. */
  readonly hostPatches?: readonly string[];
  /** `pool_update.hosts`, for API 2.6 and later. */
  readonly updateHosts?: readonly string[];
}

const atLeast26 = (v: { major: number; minor: number }) => v.major > 2 || (v.major === 2 && v.minor >= 6);

export function patchStatus(i: PatchStatusInput): PatchStatus {
  const n = atLeast26(i.apiVersion) ? (i.updateHosts ?? []).length : (i.hostPatches ?? []).length;
  if (i.hostCount > 0 && n >= i.hostCount) return PatchStatus.full;
  return n > 0 ? PatchStatus.partial : PatchStatus.none;
}

/**
 * The state of every hotfix in a pool from `get_all_records` results, keyed by name_label;
 * what the General tab's Updates section lists.
 */
export function poolPatchStatuses(
  records: {
    readonly hosts: Readonly<Record<string, { API_version_major?: unknown; API_version_minor?: unknown }>>;
    readonly pool: { master?: unknown };
    readonly poolPatches: Readonly<Record<string, { name_label?: unknown; host_patches?: unknown; pool_update?: unknown }>>;
    readonly poolUpdates?: Readonly<Record<string, { hosts?: unknown }>>;
  },
): Record<string, PatchStatus> {
  const master = records.hosts[String(records.pool.master)];
  const apiVersion = { major: Number(master?.API_version_major ?? 1), minor: Number(master?.API_version_minor ?? 0) };
  const hostCount = Object.keys(records.hosts).length;
  const out: Record<string, PatchStatus> = {};
  for (const pp of Object.values(records.poolPatches)) {
    const pu = records.poolUpdates?.[String(pp.pool_update)];
    out[String(pp.name_label)] = patchStatus({
      hostCount, apiVersion,
      hostPatches: (pp.host_patches ?? []) as string[],
      updateHosts: (pu?.hosts ?? []) as string[],
    });
  }
  return out;
}
