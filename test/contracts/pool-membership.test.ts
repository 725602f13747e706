/**
 * The PoolMembership contract run by the pool layer's membership (`src/pool/`): two `islet`
 * hosts in this process joining, handing over the master role and ejecting over HTTPS.
 */
import { isletHostMemberships } from './islet-host-memberships.js';
import { runPoolMembershipContract } from './pool-membership.contract.js';

runPoolMembershipContract('pool layer (two islet hosts over HTTPS)', () => isletHostMemberships());
