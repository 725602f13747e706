/**
 * @module
 * SR: creating storage repositories (on storage, with a PBD per host that should reach it,
 * plugged), recording existing ones (`introduce`), forgetting and destroying them, and
 * keeping their VDI records and space figures in line with the storage (`scan`, `update`).
 * As in xapi, `forget` and `destroy` refuse while any PBD is plugged, and `destroy` refuses
 * while the SR still holds a disk users can see.
 */
import { checkTextField, checkTextFields } from '../../core/record-rules.js';
import { ApiError } from '../../core/api-error.js';
import type { PatchOf } from '../../core/ports/pool-db.js';
import { NULL_REF, newRef, newUuid, type Ref } from '../../core/ref.js';
import type { ActionArgs, ActionContext } from '../../core/action-context.js';
import { createPbd, plugPbd } from '../pbd/index.js';
import { keepSecrets, resolveSecrets } from '../secret/index.js';
import { kickGc, runGc } from './sr-gc.js';
import { attachedSr, liveRef, mustRow, onSrHost, parseAllocation, srHasAttachedPbd, storageCall, storageOf } from '../common/storage-access.js';
import { onSr } from '../vdi/vdi-ops.js';
import { refreshSrSpace, removeVdiRecord } from '../vdi/vdi-records.js';
import { raiseSrWarnings } from './sr-warnings.js';
import { attachNewBlob, forgetBlobData, ownedBlobs, removeBlobRecords } from '../blob/blob-records.js';
import { type MessageArgs, type ActionsOf } from '../../core/actions-of.js';
import { joinActions } from '../../core/actions-of.js';
import { srDrActions } from './sr-dr.js';

/** The pool's fields that name an SR (its default, suspend-image and crash-dump SRs). */
export const POOL_SR_FIELDS = ['default_SR', 'suspend_image_SR', 'crash_dump_SR'] as const;

type Smap = Record<string, string>;

function driverFor(ctx: ActionContext, type: string) {
  const d = storageOf(ctx).driver(type);
  if (!d) throw new ApiError('SR_UNKNOWN_DRIVER', [type]);
  return d;
}

/** The pool's hosts, master first, as xapi orders the PBDs of a shared SR. */
function poolHosts(ctx: ActionContext): Ref<'host'>[] {
  const master = ctx.db.all('pool')[0]?.[1].master;
  const all = ctx.db.all('host').map(([r]) => r);
  return master && all.includes(master) ? [master, ...all.filter((h) => h !== master)] : all;
}

/** SR.create; `uuid` lets the caller name the SR (the local SR's path carries it). */
export async function createSr(ctx: ActionContext, a: MessageArgs<'SR', 'create'>, uuid: string = newUuid()): Promise<Ref<'SR'>> {
  checkTextFields({ name_label: a.name_label, name_description: a.name_description });
  const type = String(a.type);
  const driver = driverFor(ctx, type);
  const smConfig = { ...((a.sm_config ?? {}) as Smap) };
  parseAllocation(smConfig.allocation, 'sm_config:allocation');
  mustRow(ctx, 'host', a.host);
  const given = (a.device_config ?? {}) as Smap;
  const st = await storageCall(() => driver.create(uuid, resolveSecrets(ctx, given), smConfig));
  const srRef = newRef<'SR'>();
  const hosts = a.shared === true ? poolHosts(ctx) : [a.host];
  const pbds = ctx.db.transaction(() => {
    ctx.db.create('SR', srRef, {
      uuid, name_label: a.name_label, name_description: a.name_description, type,
      content_type: a.content_type, shared: a.shared === true, sm_config: smConfig,
      physical_size: st.physicalSize, physical_utilisation: st.physicalUtilisation, virtual_allocation: st.virtualAllocation,
    });
    // PBDs keep `password_secret`, never the password itself.
    const deviceConfig = keepSecrets(ctx, given, `SR ${uuid}`);
    return hosts.map((host) => createPbd(ctx, { SR: srRef, host, device_config: deviceConfig }));
  });
  raiseSrWarnings(ctx, srRef, st.warnings);
  for (const pbd of pbds) await plugPbd(ctx, pbd);
  return srRef;
}

function introduce(ctx: ActionContext, a: MessageArgs<'SR', 'introduce'>): Ref<'SR'> {
  const uuid = String(a.uuid || newUuid());
  if (ctx.db.refByUuid('SR', uuid)) throw new ApiError('SR_UUID_EXISTS', [uuid]);
  const ref = newRef<'SR'>();
  // Space is unknown (-1, as xapi shows it) until a PBD is plugged.
  ctx.db.create('SR', ref, {
    uuid, name_label: a.name_label, name_description: a.name_description, type: String(a.type).toLowerCase(),
    content_type: a.content_type, shared: a.shared === true, sm_config: a.sm_config ?? {},
    physical_size: -1, physical_utilisation: -1, virtual_allocation: 0,
  });
  return ref;
}

/** Removes the SR's records (PBDs, VDIs and their drives, its blobs, the SR itself), then its blobs' data. */
async function forgetRecords(ctx: ActionContext, srRef: Ref<'SR'>): Promise<void> {
  const blobData = ctx.db.transaction(() => {
    const sr = mustRow(ctx, 'SR', srRef);
    const blobs = removeBlobRecords(ctx, ownedBlobs(sr));
    for (const p of sr.PBDs) ctx.db.remove('PBD', p);
    for (const v of sr.VDIs) removeVdiRecord(ctx, v);
    for (const [pool, row] of ctx.db.all('pool')) {
      const patch: PatchOf<'pool'> = {};
      for (const f of POOL_SR_FIELDS) if (row[f] === srRef) patch[f] = NULL_REF;
      if (Object.keys(patch).length) ctx.db.update('pool', pool, patch);
    }
    ctx.db.remove('SR', srRef);
    return blobs;
  });
  await forgetBlobData(ctx, blobData);
}

function assertUnplugged(ctx: ActionContext, srRef: Ref<'SR'>): void {
  if (srHasAttachedPbd(ctx, srRef)) throw new ApiError('SR_HAS_PBD', [srRef]);
}

async function destroy(ctx: ActionContext, a: MessageArgs<'SR', 'destroy'>): Promise<string> {
  const srRef = a.sr;
  const sr = mustRow(ctx, 'SR', srRef);
  assertUnplugged(ctx, srRef);
  const pbds = sr.PBDs.map((p) => mustRow(ctx, 'PBD', p));
  const pbd = pbds.find((p) => p.host === ctx.services.hostRef) ?? pbds[0];
  if (!pbd) throw new ApiError('SR_HAS_NO_PBDS', [srRef]);
  const driver = driverFor(ctx, String(sr.type));
  const dc = resolveSecrets(ctx, pbd.device_config as Smap);
  const uuid = String(sr.uuid);
  // Attach just long enough to look: only base copies may be left behind.
  const infos = await storageCall(async () => {
    const att = await driver.attach(uuid, dc, (sr.sm_config ?? {}) as Smap);
    try {
      return await att.scan();
    } finally {
      await att.detach();
    }
  });
  if (infos.some((i) => !i.hidden)) throw new ApiError('SR_NOT_EMPTY', []);
  await storageCall(() => driver.destroy(uuid, dc));
  await forgetRecords(ctx, srRef);
  return '';
}

async function probe(ctx: ActionContext, a: ActionArgs): Promise<string> {
  const driver = driverFor(ctx, String(a.type));
  const dc = resolveSecrets(ctx, (a.device_config ?? {}) as Smap);
  if (driver.probeXml) return storageCall(() => driver.probeXml!(dc));
  const found = await storageCall(() => driver.probe(dc));
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const srs = found.map((f) => `\t<SR>\n\t\t<UUID>${esc(f.uuid)}</UUID>\n\t</SR>\n`).join('');
  return `<?xml version="1.0" ?>\n<SRlist>\n${srs}</SRlist>\n`;
}

/**
 * SR.probe_ext: the structured probe exists for drivers that describe what they find as
 * records (xapi's SMAPIv3 plugins). Every driver here answers the way XenServer 6.0.2's
 * SMAPIv1 drivers do (ext, nfs, lvmoiscsi, StorageLink: an XML document), for which xapi
 * runs the probe and then refuses the structured form with SR_OPERATION_NOT_SUPPORTED and
 * no parameters. The probe runs first, so a bad type or device configuration is reported
 * as SR.probe reports it, as xapi does.
 */
async function probeExt(ctx: ActionContext, a: ActionArgs): Promise<never> {
  await probe(ctx, a);
  throw new ApiError('SR_OPERATION_NOT_SUPPORTED', []);
}

function setter(field: string, param: 'sr' | 'self') {
  return (ctx: ActionContext, a: ActionArgs): string => {
    const sr = liveRef(ctx, 'SR', a[param]);
    checkTextField(field, a.value);
    ctx.db.update('SR', sr, { [field]: a.value });
    return '';
  };
}

const srCoreActions = {
  create: (ctx, a) => createSr(ctx, a),
  introduce,
  forget: async (ctx, a) => {
    mustRow(ctx, 'SR', a.sr);
    assertUnplugged(ctx, a.sr);
    await forgetRecords(ctx, a.sr);
    return '';
  },
  destroy,
  update: async (ctx, a) => {
    const srRef = a.sr;
    await onSrHost(ctx, srRef, 'SR.update', [srRef], () => storageCall(() => refreshSrSpace(ctx, srRef, attachedSr(ctx, srRef))));
    return '';
  },
  scan: async (ctx, a) => {
    const srRef = a.sr;
    await onSrHost(ctx, srRef, 'SR.scan', [srRef], async () => {
      await onSr(ctx, srRef, async () => undefined);
      kickGc(ctx, srRef);
    });
    return '';
  },
  islet_gc: async (ctx, a) => {
    const srRef = a.sr;
    await onSrHost(ctx, srRef, 'SR.islet_gc', [srRef], async () => {
      attachedSr(ctx, srRef);
      await runGc(ctx, srRef);
    });
    return '';
  },
  probe,
  probe_ext: probeExt,
  get_supported_types: (ctx) => ctx.services.storage?.types() ?? [],
  set_shared: setter('shared', 'sr'),
  set_name_label: setter('name_label', 'sr'),
  set_name_description: setter('name_description', 'sr'),
  set_physical_size: setter('physical_size', 'self'),
  create_new_blob: (ctx, a) => attachNewBlob(ctx, 'SR', a.sr, a),
} satisfies ActionsOf<'SR'>;

export const srActions = joinActions('SR', srCoreActions, srDrActions);
