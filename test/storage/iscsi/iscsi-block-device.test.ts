/**
 * The BlockDevice contract suite run on Islet's iSCSI initiator: each device is a fresh
 * thin LUN of the simulated target (a sparse file), opened through `IsletIscsiInitiator`
 * over loopback; reopening logs in again to the same LUN.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { IscsiTarget } from '../../../sims/iscsi/iscsi-target.js';
import { SparseFileLunStore } from '../../../sims/iscsi/sparse-file-lun-store.js';
import { IsletIscsiInitiator } from '../../../src/storage/iscsi/islet-iscsi-initiator.js';
import { runBlockDeviceContract } from '../block-device.contract.js';

const TARGET = 'iqn.2026-12.org.islet.test:contract';
const creds = { initiatorIqn: 'iqn.2026-12.org.islet.test:host' };
let dir = '';
let target: IscsiTarget;
let portal = '';
let nextLun = 0;
const initiator = new IsletIscsiInitiator();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iscsi-contract-'));
  target = new IscsiTarget({ targetIqn: TARGET });
  const a = await target.listen('127.0.0.1', 0);
  portal = `127.0.0.1:${a.port}`;
});

after(async () => {
  await initiator.close();
  await target.close();
  await rm(dir, { recursive: true, force: true });
});

runBlockDeviceContract('iSCSI LUN (Islet initiator → simulated target)', async (size) => {
  const lun = nextLun++;
  const store = await SparseFileLunStore.open(join(dir, `lun${lun}`), { size });
  target.setLun(lun, store);
  target.setAcl(creds.initiatorIqn, Array.from({ length: nextLun }, (_, i) => i));
  const open = () => initiator.openLun({ portal, targetIqn: TARGET, lun }, creds);
  return {
    device: await open(),
    reopen: open,
    cleanup: async () => {
      target.removeLun(lun);
      await store.close();
    },
  };
});
