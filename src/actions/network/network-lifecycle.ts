/**
 * @module
 * `network.create` and `network.destroy` as xapi runs them: a network made without a
 * bridge name gets the next free `xapiN`; a network still joined by host interfaces
 * (NETWORK_CONTAINS_PIF) or VM interfaces (NETWORK_CONTAINS_VIF) is not destroyed, nor is
 * the host-internal management network, which the pool needs (CANNOT_DESTROY_SYSTEM_NETWORK).
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionContext } from '../../core/action-context.js';
import type { ActionsOf } from '../../core/actions-of.js';
import type { Row } from '../../core/ports/pool-db.js';
import { newRef, newUuid, type Ref } from '../../core/ref.js';
import { mustRow } from '../common/storage-access.js';
import { forgetBlobData, ownedBlobs, removeBlobRecords } from '../blob/blob-records.js';

const FIELDS = ['name_label', 'name_description', 'MTU', 'other_config', 'bridge', 'managed', 'tags'] as const;

function freeBridge(ctx: ActionContext): string {
  const used = new Set(ctx.db.all('network').map(([, r]) => String(r.bridge)));
  let n = 0;
  while (used.has(`xapi${n}`)) n++;
  return `xapi${n}`;
}

function createNetwork(ctx: ActionContext, given: Row): Ref<'network'> {
  const row: Row = {};
  for (const f of FIELDS) if (given[f] !== undefined) row[f] = given[f];
  const mtu = row.MTU === undefined ? 1500 : Number(row.MTU);
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new ApiError('INVALID_VALUE', ['MTU', String(row.MTU)]);
  const bridge = String(row.bridge ?? '');
  if (bridge !== '' && ctx.db.all('network').some(([, r]) => r.bridge === bridge)) throw new ApiError('INVALID_VALUE', ['bridge', bridge]);
  const ref = newRef<'network'>();
  ctx.db.create('network', ref, {
    name_label: '', name_description: '', other_config: {}, managed: true, tags: [], ...row,
    uuid: newUuid(), MTU: mtu, bridge: bridge || freeBridge(ctx), default_locking_mode: 'unlocked', purpose: [],
  });
  return ref;
}

/** Removes the network's record and its blobs' records; returns the uuids of the blob data to remove. */
function destroyNetwork(ctx: ActionContext, network: Ref<'network'>): string[] {
  const row = mustRow(ctx, 'network', network);
  const oc = row.other_config ?? {};
  if (oc.is_host_internal_management_network === 'true') throw new ApiError('CANNOT_DESTROY_SYSTEM_NETWORK', [network]);
  const pifs = ctx.db.all('PIF').filter(([, r]) => r.network === network).map(([ref]) => ref);
  if (pifs.length) throw new ApiError('NETWORK_CONTAINS_PIF', [pifs.join(',')]);
  const vifs = ctx.db.all('VIF').filter(([, r]) => r.network === network).map(([ref]) => ref);
  if (vifs.length) throw new ApiError('NETWORK_CONTAINS_VIF', [vifs.join(',')]);
  return ctx.db.transaction(() => {
    const blobData = removeBlobRecords(ctx, ownedBlobs(row));
    ctx.db.remove('network', network);
    return blobData;
  });
}

export const networkLifecycleActions = {
  create: (ctx, a) => createNetwork(ctx, a.args ?? {}),
  destroy: async (ctx, a) => {
    await forgetBlobData(ctx, destroyNetwork(ctx, a.self));
    return '';
  },
} satisfies ActionsOf<'network'>;
