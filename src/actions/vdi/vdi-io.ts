/**
 * @module
 * Opening a VDI for I/O from the toolstack (import, export, copy): the disk is activated on
 * the SR attached here and its handle closed however the work ends. Closing the handle, not
 * deactivating the disk, is what releases it: other users (a running VM, another export)
 * may hold handles on the same disk.
 */
import type { BlockDevice } from '../../core/ports/block-device.js';
import type { RecordOf } from '../../core/record-of.js';
import type { ActionContext } from '../../core/action-context.js';
import { attachedSr, storageCall } from '../common/storage-access.js';

export async function withVdiDevice<T>(
  ctx: ActionContext, vdi: RecordOf<'VDI'>, opts: { readOnly: boolean }, fn: (dev: BlockDevice) => Promise<T>,
): Promise<T> {
  const sr = attachedSr(ctx, vdi.SR);
  const uuid = String(vdi.uuid);
  const dev = await storageCall(() => sr.activate(uuid, opts));
  try {
    return await storageCall(() => fn(dev), { sr, requested: Number(vdi.virtual_size) || dev.size });
  } finally {
    await dev.close().catch(() => undefined);
  }
}
