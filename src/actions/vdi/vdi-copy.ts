/**
 * @module
 * VDI.copy: a full, thin copy of a disk's content, into a new disk on any SR (the same one
 * or another, which needs no shared tree) or into an existing disk. Only data is moved:
 * ranges the source reports as zeroes are skipped, and only pages that differ from what the
 * target holds are written. That is what `base_vdi` promises (the target already holds the
 * base) without trusting it: the target itself is compared, so a wrong base cannot leave a
 * wrong copy.
 */
import { ApiError } from '../../core/api-error.js';
import { isNullRef, type Ref } from '../../core/ref.js';
import { copyBlocks } from './block-copy.js';
import type { ActionContext } from '../../core/action-context.js';
import { mustRow } from '../common/storage-access.js';
import { createVdi, destroyVdi, onVdiData } from './vdi-ops.js';
import { withVdiDevice } from './vdi-io.js';

export interface CopyArgs {
  readonly vdi: Ref<'VDI'>;
  readonly sr?: Ref<'SR'>;
  readonly base_vdi?: Ref<'VDI'>;
  readonly into_vdi?: Ref<'VDI'>;
}

export async function copyVdi(ctx: ActionContext, a: CopyArgs): Promise<Ref<'VDI'>> {
  const src = mustRow(ctx, 'VDI', a.vdi);
  if (src.managed === false) throw new ApiError('VDI_NOT_MANAGED', [a.vdi]);
  const into = a.into_vdi && !isNullRef(a.into_vdi) ? a.into_vdi : undefined;
  if (a.base_vdi && !isNullRef(a.base_vdi)) mustRow(ctx, 'VDI', a.base_vdi);
  let target: Ref<'VDI'>;
  if (into) {
    const t = mustRow(ctx, 'VDI', into);
    if (t.read_only === true) throw new ApiError('VDI_READONLY', [into]);
    if (Number(t.virtual_size) < Number(src.virtual_size)) throw new ApiError('VDI_TOO_SMALL', [into, String(src.virtual_size)]);
    target = into;
  } else {
    const srRef = (a.sr && !isNullRef(a.sr) ? a.sr : src.SR);
    mustRow(ctx, 'SR', srRef);
    target = await createVdi(ctx, {
      SR: srRef,
      virtual_size: Number(src.virtual_size),
      name_label: String(src.name_label),
      name_description: String(src.name_description),
      type: String(src.type),
      sharable: src.sharable === true,
      other_config: src.other_config,
      xenstore_data: src.xenstore_data,
      tags: src.tags,
    });
  }
  const targetRow = mustRow(ctx, 'VDI', target);
  try {
    await withVdiDevice(ctx, src, { readOnly: true }, (from) =>
      withVdiDevice(ctx, targetRow, { readOnly: false }, (to) =>
        copyBlocks(from, to, {
          ...(ctx.task ? { signal: ctx.task.signal } : {}),
          onProgress: (done, total) => ctx.task?.setProgress(total ? done / total : 1),
        })));
  } catch (e) {
    if (!into) await destroyVdi(ctx, target).catch(() => undefined);
    throw e;
  }
  // The written blocks change the target's and the SR's figures, and nothing else.
  await onVdiData(ctx, target);
  return target;
}
