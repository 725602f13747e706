/**
 * @module
 * How storage actions reach an SR: the host's storage port, the SR attached here (or the
 * XenAPI error saying why it is not), and driver failures in storage's own typed terms,
 * which the API maps to XenAPI errors as they leave (`core/wire-errors.ts`). A disk
 * operation runs on a host where the SR's PBD is plugged; the records it writes are the
 * pool's, the bytes are the driver's.
 */
import { ApiError } from '../../core/api-error.js';
import { SrFullError, StorageError } from '../../core/ports/storage-errors.js';
import type { PoolDb, RowOf } from '../../core/ports/pool-db.js';
import type { AttachedSr } from '../../core/ports/sr-driver.js';
import type { StorageHost } from '../../core/ports/storage-host.js';
import { isNullRef, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';

/** The allocation policies a thin-capable SR knows. */
export const Allocation = { thin: 'thin', thick: 'thick' } as const;
export type Allocation = (typeof Allocation)[keyof typeof Allocation];

export function parseAllocation(v: unknown, field: string): Allocation | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === 'thin' || v === 'thick') return v;
  throw new ApiError('INVALID_VALUE', [field, String(v)]);
}

export function storageOf(ctx: ActionContext): StorageHost {
  const s = ctx.services.storage;
  if (!s) throw new ApiError('SR_OPERATION_NOT_SUPPORTED', ['this host has no storage drivers']);
  return s;
}

/** The row `ref` names, typed by its class; HANDLE_INVALID for a null, missing or non-string ref. */
export function mustRow<C extends string>(ctx: ActionContext, cls: C, ref: unknown): RowOf<C> {
  const row = typeof ref === 'string' && !isNullRef(ref) ? ctx.db.get(cls, ref) : undefined;
  if (!row) throw new ApiError('HANDLE_INVALID', [cls, String(ref)]);
  return row;
}

/**
 * A ref of class `cls` taken from an untyped value (a generic setter's argument, a key of
 * other_config), once it is known to name an object of that class: HANDLE_INVALID otherwise.
 */
export function liveRef<C extends string>(ctx: ActionContext, cls: C, ref: unknown): Ref<C> {
  const live = refIfLive(ctx.db, cls, ref);
  if (live === undefined) throw new ApiError('HANDLE_INVALID', [cls, String(ref)]);
  return live;
}

/** `ref` as a ref of class `cls` when it names an object of that class, else undefined. */
export function refIfLive<C extends string>(db: PoolDb, cls: C, ref: unknown): Ref<C> | undefined {
  return typeof ref === 'string' && !isNullRef(ref) && db.get(cls, ref) ? ref : undefined;
}

/** Whether some PBD of the SR is plugged on some host. */
export function srHasAttachedPbd(ctx: ActionContext, srRef: Ref<'SR'>): boolean {
  const sr = mustRow(ctx, 'SR', srRef);
  return sr.PBDs.some((p) => ctx.db.get('PBD', p)?.currently_attached === true);
}

/**
 * The SR attached on this host. SR_HAS_NO_PBDS when no host has it plugged, SR_NOT_ATTACHED
 * when others have but this host has not (the caller was not forwarded to one of them).
 */
export function attachedSr(ctx: ActionContext, srRef: Ref<'SR'>): AttachedSr {
  const sr = mustRow(ctx, 'SR', srRef);
  const here = ctx.services.storage?.attached(String(sr.uuid));
  if (here) return here;
  if (!srHasAttachedPbd(ctx, srRef)) throw new ApiError('SR_HAS_NO_PBDS', [srRef]);
  throw new ApiError('SR_NOT_ATTACHED', [srRef]);
}

/** A host, other than this one, that has the SR plugged. */
export function otherHostWithSr(ctx: ActionContext, srRef: Ref<'SR'>): Ref<'host'> | undefined {
  const sr = mustRow(ctx, 'SR', srRef);
  for (const p of sr.PBDs) {
    const pbd = ctx.db.get('PBD', p);
    if (pbd?.currently_attached === true && pbd.host !== ctx.services.hostRef) return pbd.host;
  }
  return undefined;
}

/**
 * Runs `local` when the SR is attached on this host; otherwise sends the XenAPI call
 * `method(params)` to a host that has it plugged (a member's local SR), as xapi forwards
 * storage operations to a host that can do them. Without such a host, `local` runs and
 * reports why it cannot.
 */
export async function onSrHost<T>(ctx: ActionContext, srRef: Ref<'SR'>, method: string, params: readonly unknown[], local: () => Promise<T>): Promise<T> {
  const uuid = String(mustRow(ctx, 'SR', srRef).uuid);
  if (ctx.services.storage?.attached(uuid)) return local();
  const host = otherHostWithSr(ctx, srRef);
  const link = ctx.services.pool;
  if (!host || !link) return local();
  return (await link.callOnHost(host, method, params)) as T;
}

function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A driver failure in storage's typed terms (XenAPI errors and typed failures pass as they are). */
export function storageError(e: unknown): unknown {
  if (e instanceof ApiError || e instanceof StorageError) return e;
  const code = errnoOf(e);
  const msg = e instanceof Error ? e.message : String(e);
  // A write into a thin disk that finds the SR full: the SR is full, as the driver reports
  // for its own operations (the size of the failed write is not known here).
  if (code === 'ENOSPC' || code === 'EDQUOT' || /\bENOSPC\b|no space left/i.test(msg)) return new SrFullError();
  return e;
}

/** Where a write that may find the SR full goes, to report SR_FULL with real figures. */
export interface SpaceWanted {
  readonly sr: AttachedSr;
  /** Bytes the operation may need (a disk's virtual size for writes into it). */
  readonly requested: number;
}

/**
 * Runs a driver call, its failures in storage's typed terms. A bare ENOSPC from a write
 * carries no figures; with `space` the SR is asked how much room is left, so SR_FULL says
 * what was wanted and what there is (xe prints both).
 */
export async function storageCall<T>(fn: () => Promise<T>, space?: SpaceWanted): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = storageError(e);
    if (space && err instanceof SrFullError && err.requested === undefined) {
      const st = await space.sr.stat().catch(() => undefined);
      const left = st ? Math.max(0, st.physicalSize - st.physicalUtilisation) : 0;
      throw new SrFullError(space.requested, left);
    }
    throw err;
  }
}
