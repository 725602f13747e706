/**
 * The Hypervisor contract run against `HostHypervisor`, the object the actions of a real
 * host see: it finds a running simulator through the host's state directory (as a
 * toolstack restarted beside a live hypervisor does, `spawn` off) and forwards to the
 * connection it holds. The peer for migrations is a second host's `HostHypervisor`.
 */
import { HostHypervisor } from '../../src/main/hypervisor-process.js';
import { startHypervisorSim, type SimProcess } from '../helpers/hypervisor-sim.js';
import { runHypervisorContract } from './hypervisor.contract.js';

async function hostHypervisor(sim: SimProcess): Promise<HostHypervisor> {
  const hv = new HostHypervisor({
    stateDir: sim.stateDir, spawn: false, listenHost: '127.0.0.1', advertiseHost: () => '127.0.0.1', log: () => undefined,
  });
  await hv.start(async () => undefined);
  if (!hv.connected) throw new Error(`HostHypervisor did not connect to the simulator in ${sim.stateDir}`);
  return hv;
}

runHypervisorContract('HostHypervisor over a hypervisor-sim process found by its state directory', async () => {
  const [a, b] = await Promise.all([startHypervisorSim(), startHypervisorSim()]);
  const [hv, peerHv] = await Promise.all([hostHypervisor(a), hostHypervisor(b)]);
  return {
    hv,
    peer: { hv: peerHv, address: b.host, port: b.port },
    stop: async () => {
      await Promise.all([hv.stop(), peerHv.stop()]);
      await Promise.all([a.stop(), b.stop()]);
    },
  };
});
