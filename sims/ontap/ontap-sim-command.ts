/**
 * @module
 * `islet sim ontap …`: the ONTAP simulator as a process of its own (see `ontap-sim`), its
 * LUNs served by the simulated iSCSI target presenting itself as NetApp's (`NETAPP`,
 * `LUN C-Mode`) with igroups as the target's ACLs.
 */
import { IscsiTarget } from '../iscsi/iscsi-target.js';
import { runOntapSim, type MakeIscsiTarget } from './ontap-sim.js';

export const makeNetappTarget: MakeIscsiTarget = (targetIqn, log) =>
  new IscsiTarget({ targetIqn, identity: { vendor: 'NETAPP', product: 'LUN C-Mode', revision: '9121' }, ...(log ? { log } : {}) });

export async function runOntapSimCommand(argv: string[]): Promise<void> {
  await runOntapSim(argv, makeNetappTarget);
}
