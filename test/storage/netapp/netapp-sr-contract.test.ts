/**
 * The SR driver contract the file SR passes, run against the `netapp` driver: ONTAP REST
 * to the simulator, data over iSCSI through Islet's initiator to the simulator's target.
 */
import { runSrDriverContract } from '../sr-driver.contract.js';
import { netappFixture } from './netapp-fixture.js';

runSrDriverContract('netapp (ONTAP simulator, iSCSI)', async () => {
  const f = await netappFixture();
  return { driver: f.driver, deviceConfig: f.deviceConfig, cleanup: f.cleanup };
});
