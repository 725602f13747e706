/**
 * A NetApp SR driver wired as a host wires it (Islet's iSCSI initiator, a host IQN) against
 * the ONTAP simulator running in-process with its iSCSI target.
 */
import { IsletIscsiInitiator } from '../../../src/storage/iscsi/islet-iscsi-initiator.js';
import { NetappSrDriver } from '../../../src/storage/netapp/netapp-sr-driver.js';
import { makeNetappTarget } from '../../../sims/ontap/ontap-sim-command.js';
import { GiB, startSim, type SimFixture } from '../../sims/ontap-sim-helpers.js';

export interface NetappFixture {
  readonly sim: SimFixture;
  readonly driver: NetappSrDriver;
  readonly initiator: IsletIscsiInitiator;
  readonly deviceConfig: Record<string, string>;
  cleanup(): Promise<void>;
}

export async function netappFixture(o: { aggregates?: { name: string; size: number }[]; provision?: 'thin' | 'thick'; iqn?: string } = {}): Promise<NetappFixture> {
  const sim = await startSim({ aggregates: o.aggregates ?? [{ name: 'aggr1', size: 100 * GiB }], iscsi: true, makeTarget: makeNetappTarget });
  const initiator = new IsletIscsiInitiator();
  const iqn = o.iqn ?? 'iqn.2026-01.org.islet:test-host';
  const driver = new NetappSrDriver({ initiator, initiatorIqn: () => iqn });
  const url = new URL(sim.sim.url);
  const deviceConfig = {
    target: url.hostname, port: url.port, username: 'admin', password: 'netapp1!', storagePoolId: 'aggr1',
    'provision-type': o.provision ?? 'thin', sslfingerprint: sim.sim.fingerprint,
  };
  return {
    sim, driver, initiator, deviceConfig,
    cleanup: async () => {
      await initiator.close();
      await sim.stop();
    },
  };
}
