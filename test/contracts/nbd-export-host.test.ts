/**
 * The NBD export contract run by a whole host: `islet server` resolves the names
 * `VDI.get_nbd_info` hands out (a disk and its snapshot on the local file SR, with the
 * client's session in the name) and serves them on its own NBD port; a name with a
 * session that does not exist must open nothing.
 */
import { nbdExportSkip, runNbdExportContract } from './nbd-export.contract.js';
import { importImage, startStorageFixture } from '../storage/acceptance/storage-fixture.js';

type Info = { exportname: string; address: string; port: number };

runNbdExportContract('islet server (VDI.get_nbd_info names, file SR; lent disks are counted in the server process, not here)', async (content) => {
  const f = await startStorageFixture();
  try {
    const api = f.api;
    const vdi = String(await api.call('VDI.create', {
      name_label: 'nbd-contract', SR: f.sr, virtual_size: String(content.length), type: 'user', sharable: false, read_only: false, other_config: {},
    }));
    await importImage(api, vdi, content);
    const snap = String(await api.call('VDI.snapshot', vdi, {}));
    const net = String(await api.call('network.create', {
      name_label: 'nbd-contract', name_description: '', MTU: 1500, other_config: {}, bridge: 'xenbr-nbdc', managed: true, tags: [],
    }));
    await api.call('network.add_purpose', net, 'insecure_nbd');
    const info = async (ref: string) => ((await api.call('VDI.get_nbd_info', ref)) as Info[])[0]!;
    const [disk, ro] = [await info(vdi), await info(snap)];
    return {
      address: disk.address, port: disk.port, writable: disk.exportname, readOnly: ro.exportname,
      refused: disk.exportname.replace(/session_id=.*/, 'session_id=OpaqueRef:00000000-0000-4000-8000-000000000000'),
      content,
      stop: () => f.close(),
    };
  } catch (e) {
    await f.close();
    throw e;
  }
}, await nbdExportSkip(), { countsLentDisks: false });
