/**
 * The NBD export contract run by the storage adapters whose disks the NBD server lends:
 * a VHD chain on a file SR (real files), and a LUN of a NetApp SR reached through Islet's
 * iSCSI initiator (the ONTAP simulator and its iSCSI target, in this process).
 */
import { rm } from 'node:fs/promises';
import { FileSrDriver } from '../../src/storage/file/file-sr-driver.js';
import { makeTempDir } from '../storage/file/file-sr-helpers.js';
import { netappFixture } from '../storage/netapp/netapp-fixture.js';
import { nbdExportSkip, runNbdExportContract } from './nbd-export.contract.js';
import { srNbdExports } from './sr-nbd-exports.js';

const skip = await nbdExportSkip();

runNbdExportContract('file SR (VHD chain)', async (content) => {
  const dir = await makeTempDir();
  return srNbdExports({ driver: new FileSrDriver(), deviceConfig: { path: dir }, cleanup: () => rm(dir, { recursive: true, force: true }) }, content);
}, skip);

runNbdExportContract('NetApp SR (LUN over iSCSI, ONTAP simulator)', async (content) => {
  const f = await netappFixture();
  return srNbdExports({ driver: f.driver, deviceConfig: f.deviceConfig, cleanup: f.cleanup }, content);
}, skip);
