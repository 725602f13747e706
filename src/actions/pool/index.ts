/**
 * @module
 * pool: every explicit message of the class, gathered from the modules that implement
 * them (membership and the hosts' internal calls; update keys and rolling updates; HA).
 */
import { joinActions, type ActionsOf } from '../../core/actions-of.js';
import { attachNewBlob } from '../blob/blob-records.js';
import { poolMembershipActions } from './pool-actions.js';
import { poolHaActions } from './pool-ha.js';
import { poolRollingUpdateActions, poolUpdateKeyActions } from './pool-updates.js';
import { poolVlanActions } from './pool-vlans.js';
import { poolCertificateActions } from './pool-certificates.js';
import { poolHaPlanActions } from './pool-ha-plan.js';
import { poolServiceActions } from './pool-services.js';

export const poolActions = joinActions('pool', poolMembershipActions, poolUpdateKeyActions, poolRollingUpdateActions, poolHaActions, poolVlanActions,
  poolCertificateActions, poolServiceActions, poolHaPlanActions,
  { create_new_blob: (ctx, a) => attachNewBlob(ctx, 'pool', a.pool, a) } satisfies ActionsOf<'pool'>);
