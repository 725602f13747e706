/**
 * @module
 * Reading a pool database copy found on a VDI (disaster recovery), as XenServer 6.0.2
 * does: only a metadata VDI holds one (VDI_INCOMPATIBLE_TYPE otherwise); no driver here
 * writes database copies, so there is none to open (COULD_NOT_IMPORT_DATABASE), and no
 * VDI's pool has been read before (an empty uuid, xapi's answer for an uncached VDI).
 */
import { ApiError } from '../../core/api-error.js';
import type { ActionsOf } from '../../core/actions-of.js';
import { mustRow } from '../common/storage-access.js';

/** xapi's spelling of VDI types in messages, where it is not the capitalised name. */
const TYPE_WORDS: Readonly<Record<string, string>> = { ha_statefile: 'HA statefile', redo_log: 'Redo log', rrd: 'rrd', pvs_cache: 'PVS cache' };

const typeWord = (t: string) => TYPE_WORDS[t] ?? t.charAt(0).toUpperCase() + t.slice(1);

export const vdiDrActions = {
  open_database: (ctx, a) => {
    const type = String(mustRow(ctx, 'VDI', a.self).type);
    if (type !== 'metadata') throw new ApiError('VDI_INCOMPATIBLE_TYPE', [a.self, typeWord(type)]);
    throw new ApiError('COULD_NOT_IMPORT_DATABASE', ['no database copy was found on the VDI']);
  },
  read_database_pool_uuid: (ctx, a) => {
    mustRow(ctx, 'VDI', a.self);
    return '';
  },
} satisfies ActionsOf<'VDI'>;
