/**
 * @module
 * What a storage driver warns about (array firmware newer than Islet was tested with, a
 * disk file it cannot read) becomes a XenAPI message on the SR, once: the same text is
 * not raised again while the earlier message is still there.
 */
import type { Ref } from '../../core/ref.js';
import { newRef, newUuid, xapiDate } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';

/** The message name of a storage warning, and its priority (3: a warning, as xapi ranks them). */
export const SR_WARNING_MESSAGE = 'ISLET_SR_STORAGE_WARNING';
const PRIORITY = 3;

export function raiseSrWarnings(ctx: ActionContext, srRef: Ref<'SR'>, warnings: readonly string[] | undefined): void {
  if (!warnings?.length) return;
  const sr = ctx.db.get('SR', srRef);
  if (!sr) return;
  const uuid = String(sr.uuid);
  const have = new Set(ctx.db.all('message').filter(([, m]) => m.cls === 'SR' && m.obj_uuid === uuid && m.name === SR_WARNING_MESSAGE).map(([, m]) => String(m.body)));
  for (const body of new Set(warnings)) {
    if (have.has(body)) continue;
    ctx.db.create('message', newRef<'message'>(), {
      uuid: newUuid(), name: SR_WARNING_MESSAGE, priority: PRIORITY, cls: 'SR', obj_uuid: uuid,
      timestamp: xapiDate(ctx.services.now()), body,
    });
  }
}
