/**
 * @module
 * Garbage collection of an SR's snapshot tree, as XenServer's storage manager runs it: after
 * a disk is destroyed the toolstack kicks a background pass on the host that has the SR
 * attached; the pass lets the driver remove and coalesce hidden nodes nothing visible needs,
 * then brings the records (when it changed anything) and space figures in line.
 * `SR.islet_gc` runs a pass and waits for it, so tests and tools can observe the collected
 * state.
 */
import type { Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { scheduleGc, withSrLock } from './sr-jobs.js';
import { refreshSrSpace, syncVdis } from '../vdi/vdi-records.js';

/** One pass: collect, rescan, refresh. Does nothing when the SR is not attached here. */
async function gcPass(ctx: ActionContext, srRef: Ref<'SR'>, uuid: string): Promise<void> {
  const attached = ctx.services.storage?.attached(uuid);
  if (!attached || !ctx.db.get('SR', srRef)) return;
  // The driver keeps the tree consistent step by step (pausing open disks around each), so
  // only the record update needs the SR's lock.
  const done = await attached.gc();
  // A pass that found nothing to collect (a destroyed disk with no base left behind) changed
  // no record: the rescan, a look at every disk of the SR, is for passes that did something.
  const changed = done.removed.length + done.coalesced.length + done.split.length > 0;
  await withSrLock(ctx.services, uuid, async () => {
    if (changed) {
      const infos = await attached.scan();
      if (!ctx.db.get('SR', srRef)) return;
      syncVdis(ctx, srRef, infos);
    }
    if (!ctx.db.get('SR', srRef)) return;
    await refreshSrSpace(ctx, srRef, attached);
  });
}

function detached(ctx: ActionContext): ActionContext {
  return { ...ctx, task: undefined };
}

/** Runs a pass (after the one in progress, if any) and waits for it. */
export function runGc(ctx: ActionContext, srRef: Ref<'SR'>): Promise<void> {
  const row = ctx.db.get('SR', srRef);
  if (!row) return Promise.resolve();
  const uuid = String(row.uuid);
  const c = detached(ctx);
  return scheduleGc(ctx.services, uuid, () => gcPass(c, srRef, uuid));
}

/** Starts a pass in the background; failures are logged, never thrown at the caller. */
export function kickGc(ctx: ActionContext, srRef: Ref<'SR'>): void {
  if (process.env.ISLET_NO_AUTO_GC === '1') return;
  setImmediate(() => {
    runGc(ctx, srRef).catch((e: unknown) => {
      process.stderr.write(`SR ${srRef}: garbage collection failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    });
  });
}
