/**
 * @module
 * VDI: the XenAPI messages of virtual disks. `create` (the generic constructor, overridden
 * here) allocates the disk on storage, thin unless `sm_config:allocation=thick` (or the SR's
 * default) says otherwise; snapshots are read-only, share unchanged blocks and record what
 * they were taken of; `introduce`/`forget` touch records only; `open_database` and
 * `read_database_pool_uuid` (disaster recovery) are in `vdi-dr.ts`.
 */
import { checkTextField, checkTextFields } from '../../core/record-rules.js';
import { ApiError } from '../../core/api-error.js';
import type { PatchOf, Row } from '../../core/ports/pool-db.js';
import { NULL_REF, isNullRef, newRef, type Ref } from '../../core/ref.js';
import type { ActionContext } from '../../core/action-context.js';
import { attachedSr, mustRow, storageCall } from '../common/storage-access.js';
import { copyVdi } from './vdi-copy.js';
import { vdiNbdActions } from './vdi-nbd.js';
import { cloneVdi, createVdi, destroyVdi, resizeVdi, snapshotVdi } from './vdi-ops.js';
import { applyInfo, refreshSrSpace, removeVdiRecord, storageFields, vdiByUuid } from './vdi-records.js';
import { joinActions, type ActionsOf, type MessageArgs } from '../../core/actions-of.js';
import { vdiDrActions } from './vdi-dr.js';

const self = (a: { self: Ref<'VDI'> }): Ref<'VDI'> => a.self;

function setter(field: string) {
  return (ctx: ActionContext, a: { self: Ref<'VDI'>; value: unknown }): string => {
    mustRow(ctx, 'VDI', a.self);
    checkTextField(field, a.value);
    ctx.db.update('VDI', self(a), { [field]: a.value });
    return '';
  };
}

async function create(ctx: ActionContext, a: { args: PatchOf<'VDI'> }): Promise<Ref<'VDI'>> {
  const r = a.args ?? {};
  checkTextFields({ name_label: r.name_label, name_description: r.name_description });
  if (r.type === 'cbt_metadata') throw new ApiError('VDI_INCOMPATIBLE_TYPE', ['', 'cbt_metadata']);
  if (r.SR === undefined || isNullRef(r.SR)) throw new ApiError('FIELD_TYPE_ERROR', ['SR']);
  return createVdi(ctx, {
    SR: r.SR,
    virtual_size: Number(r.virtual_size ?? 0),
    name_label: r.name_label ?? '',
    name_description: r.name_description ?? '',
    type: r.type ?? 'user',
    sharable: r.sharable === true,
    read_only: r.read_only === true,
    other_config: r.other_config ?? {},
    xenstore_data: r.xenstore_data ?? {},
    sm_config: r.sm_config ?? {},
    tags: r.tags ?? [],
  });
}

async function introduce(ctx: ActionContext, a: MessageArgs<'VDI', 'introduce'>): Promise<Ref<'VDI'>> {
  const srRef = a.SR;
  mustRow(ctx, 'SR', srRef);
  const location = String(a.location || a.uuid);
  if (vdiByUuid(ctx, location)) throw new ApiError('INVALID_VALUE', ['uuid', location]);
  const sr = attachedSr(ctx, srRef);
  const info = await storageCall(() => sr.vdiStat(location));
  const snapshotOf = isNullRef(a.snapshot_of) ? NULL_REF : a.snapshot_of;
  const fresh: Row = {
    name_label: a.name_label, name_description: a.name_description, type: a.type,
    sharable: a.sharable, read_only: a.read_only, other_config: a.other_config,
    xenstore_data: a.xenstore_data, sm_config: a.sm_config,
    is_a_snapshot: a.is_a_snapshot, snapshot_time: a.snapshot_time, snapshot_of: snapshotOf,
    metadata_of_pool: a.metadata_of_pool,
  };
  const ref = newRef<'VDI'>();
  ctx.db.create('VDI', ref, { ...fresh, uuid: info.uuid, SR: srRef, ...storageFields(info, fresh) });
  await refreshSrSpace(ctx, srRef, sr);
  return ref;
}

async function update(ctx: ActionContext, a: MessageArgs<'VDI', 'update'>): Promise<string> {
  const row = mustRow(ctx, 'VDI', a.vdi);
  const sr = attachedSr(ctx, row.SR);
  applyInfo(ctx, a.vdi, await storageCall(() => sr.vdiStat(String(row.location || row.uuid))));
  return '';
}

const vdiDiskActions = {
  create,
  destroy: async (ctx, a) => {
    await destroyVdi(ctx, self(a));
    return '';
  },
  snapshot: (ctx, a) => snapshotVdi(ctx, a.vdi),
  clone: (ctx, a) => cloneVdi(ctx, a.vdi),
  resize: async (ctx, a) => {
    await resizeVdi(ctx, a.vdi, Number(a.size));
    return '';
  },
  copy: (ctx, a) => copyVdi(ctx, {
    vdi: a.vdi, sr: a.sr, base_vdi: a.base_vdi, into_vdi: a.into_vdi,
  }),
  introduce,
  forget: (ctx, a) => {
    mustRow(ctx, 'VDI', a.vdi);
    removeVdiRecord(ctx, a.vdi);
    return '';
  },
  update,
  set_sharable: setter('sharable'),
  set_read_only: setter('read_only'),
  set_name_label: setter('name_label'),
  set_name_description: setter('name_description'),
  set_on_boot: setter('on_boot'),
  set_allow_caching: setter('allow_caching'),
} satisfies ActionsOf<'VDI'>;

export const vdiActions = joinActions('VDI', vdiDiskActions, vdiNbdActions, vdiDrActions);
