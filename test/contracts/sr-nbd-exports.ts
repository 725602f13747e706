/**
 * @module
 * The NBD export contract's fixture for a storage adapter in this process: an SR made with
 * the adapter's driver, a disk holding the contract's content and a snapshot of it, served
 * by Islet's NBD server on 127.0.0.1 through a resolver that lends disks as the host's does
 * (activated for one connection, read-only where the disk must not change, closed when
 * the connection ends), counting what it has lent and not had back.
 */
import { randomUUID } from 'node:crypto';
import type { BlockDevice } from '../../src/core/ports/block-device.js';
import type { ExportResolver } from '../../src/core/ports/nbd-export.js';
import type { AttachedSr, SrDriver } from '../../src/core/ports/sr-driver.js';
import { NbdServer } from '../../src/storage/nbd/nbd-server.js';
import type { NbdExportFixture } from './nbd-export.contract.js';

export interface SrAdapter {
  readonly driver: SrDriver;
  /** Reaches empty storage on which one SR can be created. */
  readonly deviceConfig: Record<string, string>;
  cleanup(): Promise<void>;
}

export interface SrExportsOptions {
  /** Changes each lent device (a deliberately broken adapter, to show the contract can fail). */
  readonly wrapDevice?: (dev: BlockDevice) => BlockDevice;
}

async function fill(sr: AttachedSr, uuid: string, content: Buffer): Promise<void> {
  const dev = await sr.activate(uuid, { readOnly: false });
  try {
    await dev.write(0, content);
    await dev.flush();
  } finally {
    await dev.close();
  }
}

export async function srNbdExports(adapter: SrAdapter, content: Buffer, o: SrExportsOptions = {}): Promise<NbdExportFixture> {
  const srUuid = randomUUID();
  let sr: AttachedSr | undefined;
  let server: NbdServer | undefined;
  const stop = async () => {
    await server?.close();
    await sr?.detach().catch(() => undefined);
    await adapter.cleanup();
  };
  try {
    await adapter.driver.create(srUuid, adapter.deviceConfig, {});
    const attached = await adapter.driver.attach(srUuid, adapter.deviceConfig);
    sr = attached;
    const disk = randomUUID();
    await attached.vdiCreate({ uuid: disk, virtualSize: content.length, allocation: 'thin' });
    await fill(attached, disk, content);
    const snap = (await attached.vdiSnapshot(disk, randomUUID())).created.uuid;
    const lendable = new Map([[disk, false], [snap, true]]);
    let open = 0;
    const resolve: ExportResolver = async (name) => {
      const readOnly = lendable.get(name);
      if (readOnly === undefined) return undefined;
      const activated = await attached.activate(name, { readOnly });
      const device = o.wrapDevice ? o.wrapDevice(activated) : activated;
      open++;
      let released = false;
      return {
        device, readOnly,
        release: async () => {
          if (released) throw new Error(`export ${name} released twice`);
          released = true;
          open--;
          await device.close();
        },
      };
    };
    server = new NbdServer({ resolveExport: resolve });
    const { port, host } = await server.listen(0, '127.0.0.1');
    return {
      address: host, port, writable: disk, readOnly: snap, refused: randomUUID(), content,
      openHandles: () => open,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
