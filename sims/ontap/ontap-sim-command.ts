/**
 * @module
 * `islet sim ontap …`: the ONTAP simulator as a process of its own (see `ontap-sim`).
 */
import { runOntapSim } from './ontap-sim.js';

export async function runOntapSimCommand(argv: string[]): Promise<void> {
  if (argv.some((a) => a === '--iscsi' || a.startsWith('--iscsi='))) {
    throw new Error('--iscsi needs the iSCSI target (sims/iscsi), which this build does not have yet');
  }
  await runOntapSim(argv);
}
