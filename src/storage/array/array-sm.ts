/**
 * @module
 * What the two array drivers share in their SM records: the operations an Integrated
 * StorageLink-style driver does on the array itself (a LUN or volume per disk, snapshots
 * and clones as the array's own, thin or thick as `provision-type` says) and the device
 * config keys both read.
 */
import type { SmDescription } from '../../core/ports/sr-driver.js';

/** SMAPI features both array drivers offer, each at version 1. */
export const ARRAY_FEATURES: SmDescription['features'] = Object.fromEntries([
  'SR_CREATE', 'SR_DELETE', 'SR_ATTACH', 'SR_DETACH', 'SR_SCAN', 'SR_PROBE', 'SR_UPDATE',
  'VDI_CREATE', 'VDI_DELETE', 'VDI_ATTACH', 'VDI_DETACH', 'VDI_ACTIVATE', 'VDI_DEACTIVATE',
  'VDI_RESIZE', 'VDI_CLONE', 'VDI_SNAPSHOT', 'THIN_PROVISIONING',
].map((f) => [f, 1]));

/** Device-config keys both array drivers read. */
export const ARRAY_CONFIGURATION: SmDescription['configuration'] = {
  target: 'The array\'s management address',
  username: 'The array administrator\'s name',
  password: 'The array administrator\'s password',
  storageSystemId: 'The storage system, as SR.probe reports it',
  storagePoolId: 'The array pool the SR lives in (an aggregate on NetApp), as SR.probe reports it',
  chapuser: 'CHAP user name for the iSCSI sessions (optional)',
  chappassword: 'CHAP secret for the iSCSI sessions (optional)',
  'provision-type': 'thin (the default) or thick',
};
