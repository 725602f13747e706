/**
 * @module
 * The `equallogic` driver against the simulated group passes the SR contract every
 * driver passes, with data through Islet's iSCSI initiator.
 */
import { runSrDriverContract } from '../sr-driver.contract.js';
import { startEqlFixture } from './eql-fixture.js';

runSrDriverContract('equallogic', async () => {
  const f = await startEqlFixture();
  return { driver: f.driver, deviceConfig: f.deviceConfig, cleanup: f.cleanup };
});
