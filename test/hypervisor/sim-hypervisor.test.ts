/**
 * The Hypervisor contract, run against the toolstack's client talking to real simulator
 * processes on 127.0.0.1 (a second one as the migration peer).
 */
import { startHypervisorSim } from '../helpers/hypervisor-sim.js';
import { runHypervisorContract } from './hypervisor.contract.js';

runHypervisorContract('SimHypervisorClient + hypervisor-sim process', async () => {
  const [a, b] = await Promise.all([startHypervisorSim(), startHypervisorSim()]);
  const [hv, peerHv] = await Promise.all([a.connect(), b.connect()]);
  return {
    hv,
    peer: { hv: peerHv, address: b.host, port: b.port },
    stop: async () => {
      await Promise.all([hv.close(), peerHv.close()]);
      await Promise.all([a.stop(), b.stop()]);
    },
  };
});
