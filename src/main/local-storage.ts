/**
 * @module
 * Storage at a host's start: a fresh host gets its "Local storage" SR, a `file` SR under
 * `<data-dir>/sr/<uuid>`, made the pool's default SR and the host's suspend-image and
 * crash-dump SR (as a XenServer install makes its local SR); and at every start the host's PBDs are plugged again, since
 * attachments do not outlive the process. A PBD that cannot be plugged is logged and left
 * unplugged; the toolstack still starts.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActionContext, Services } from '../core/action-context.js';
import { plugPbd } from '../actions/pbd/index.js';
import { POOL_SR_FIELDS, createSr } from '../actions/sr/index.js';
import type { PatchOf } from '../core/ports/pool-db.js';
import { newUuid, type Ref } from '../core/ref.js';

const LOCAL_SR_DONE = 'local_sr_created';

function systemContext(services: Services): ActionContext {
  return { services, db: services.db, session: undefined, task: undefined, peer: 'local' };
}

/** Makes the local SR once per host (a crash before it is recorded makes it again). */
export async function ensureLocalStorage(services: Services, log: (m: string) => void): Promise<void> {
  const { db } = services;
  if (!services.storage || db.getMeta(LOCAL_SR_DONE) !== undefined) return;
  const ctx = systemContext(services);
  const uuid = newUuid();
  // The SR path must have an existing parent (the file SR makes only the last component).
  await mkdir(join(services.dataDir, 'sr'), { recursive: true });
  const sr = await createSr(ctx, {
    host: services.hostRef, device_config: { path: join(services.dataDir, 'sr', uuid) }, physical_size: 0,
    name_label: 'Local storage', name_description: '', type: 'file', content_type: 'user', shared: false, sm_config: {},
  }, uuid);
  db.transaction(() => {
    db.update('SR', sr, { other_config: { 'i18n-key': 'local-storage', 'i18n-original-value-name_label': 'Local storage' } });
    const [poolRef, pool] = db.all('pool')[0] ?? [];
    if (poolRef && pool) {
      const patch: PatchOf<'pool'> = {};
      for (const f of POOL_SR_FIELDS) if (!db.get('SR', pool[f])) patch[f] = sr;
      db.update('pool', poolRef, patch);
    }
    // The host's own suspend images and crash dumps go there too, as after an install.
    const host = db.get('host', services.hostRef);
    if (host) {
      const mine: PatchOf<'host'> = {};
      if (!db.get('SR', host.suspend_image_sr)) mine.suspend_image_sr = sr;
      if (!db.get('SR', host.crash_dump_sr)) mine.crash_dump_sr = sr;
      db.update('host', services.hostRef, mine);
    }
    db.setMeta(LOCAL_SR_DONE, sr);
  });
  log(`created local SR ${uuid}`);
}

/** Plugs every PBD of this host again (their attachments ended with the last process). */
export async function replugPbds(services: Services, log: (m: string) => void): Promise<void> {
  if (!services.storage) return;
  const ctx = systemContext(services);
  for (const [ref, pbd] of services.db.all('PBD')) {
    if (pbd.host !== services.hostRef) continue;
    try {
      await plugPbd(ctx, ref);
    } catch (e) {
      log(`PBD ${String(pbd.uuid)}: plug failed: ${e instanceof Error ? e.message : String(e)}`);
      if (services.db.get('PBD', ref)) services.db.update('PBD', ref, { currently_attached: false });
    }
  }
}
