/**
 * @module
 * network: its lifecycle (`network-lifecycle.ts`), its default locking mode, and the
 * special uses a network is put to. Today the only ones are NBD's: a network
 * with purpose `nbd` or `insecure_nbd` makes the hosts serve VDIs over NBD (with TLS
 * required, or without TLS), and `VDI.get_nbd_info` announces them. As in XenServer, the
 * pool's NBD networks must all agree on TLS: one cannot be `nbd` while another is
 * `insecure_nbd`.
 */
import { ApiError } from '../../core/api-error.js';
import type { PoolDb } from '../../core/ports/pool-db.js';
import type { RecordOf } from '../../core/record-of.js';
import type { ActionContext } from '../../core/action-context.js';
import { mustRow } from '../common/storage-access.js';
import { joinActions, type MessageArgs, type ActionsOf } from '../../core/actions-of.js';
import { networkLifecycleActions } from './network-lifecycle.js';
import { attachNewBlob } from '../blob/blob-records.js';

/** How the hosts serve NBD, from the purposes of the pool's networks. */
export const NbdMode = { off: 'off', tls: 'tls', insecure: 'insecure' } as const;
export type NbdMode = (typeof NbdMode)[keyof typeof NbdMode];

const NBD_PURPOSES = ['nbd', 'insecure_nbd'] as const;

function purposes(row: RecordOf<'network'>): RecordOf<'network'>['purpose'] {
  return Array.isArray(row.purpose) ? row.purpose : [];
}

/**
 * `tls` when some network has purpose `nbd`, `insecure` when some has `insecure_nbd`
 * (and none `nbd`: a database written before the rule held still requires TLS), `off`
 * when none has either. The simulated hosts carry no packets, so a network's purpose holds on every
 * host of the pool, at the host's address.
 */
export function nbdMode(db: PoolDb): NbdMode {
  let insecure = false;
  for (const [, row] of db.all('network')) {
    const p = purposes(row);
    if (p.includes('nbd')) return NbdMode.tls;
    if (p.includes('insecure_nbd')) insecure = true;
  }
  return insecure ? NbdMode.insecure : NbdMode.off;
}

function addPurpose(ctx: ActionContext, a: MessageArgs<'network', 'add_purpose'>): string {
  const ref = a.self;
  const row = mustRow(ctx, 'network', ref);
  const value = a.value;
  if ((NBD_PURPOSES as readonly string[]).includes(value)) {
    const other = value === 'nbd' ? 'insecure_nbd' : 'nbd';
    for (const [, n] of ctx.db.all('network')) {
      if (purposes(n).includes(other)) throw new ApiError('NETWORK_INCOMPATIBLE_PURPOSES', [value, other]);
    }
  }
  const now = purposes(row);
  if (!now.includes(value)) ctx.db.update('network', ref, { purpose: [...now, value] });
  return '';
}

function removePurpose(ctx: ActionContext, a: MessageArgs<'network', 'remove_purpose'>): string {
  const ref = a.self;
  const now = purposes(mustRow(ctx, 'network', ref));
  if (now.includes(a.value)) ctx.db.update('network', ref, { purpose: now.filter((p) => p !== a.value) });
  return '';
}

export const networkActions = joinActions('network', {
  add_purpose: addPurpose,
  remove_purpose: removePurpose,
  set_default_locking_mode: (ctx: ActionContext, a: MessageArgs<'network', 'set_default_locking_mode'>) => {
    mustRow(ctx, 'network', a.network);
    ctx.db.update('network', a.network, { default_locking_mode: a.value });
    return '';
  },
  create_new_blob: (ctx, a) => attachNewBlob(ctx, 'network', a.network, a),
} satisfies ActionsOf<'network'>, networkLifecycleActions);
