/**
 * @module
 * The VHD format at the SR boundary: a disk's content streamed out as a dynamic VHD (VDI
 * export), and a VHD body read as it arrives or a VHD file opened as a readable disk (VDI
 * import). SR drivers expose these through `AttachedSr`, so the HTTP handlers never reach
 * into the format's internals.
 */
import type { BlockDevice } from '../../core/ports/block-device.js';
import type { VhdBody, VhdImage, VhdSource, VhdStreamEvent } from '../../core/ports/sr-driver.js';
import { VhdError } from './errors.js';
import { VhdFile } from './vhd-file.js';
import { planVhdStream, vhdStreamParts } from './vhd-stream.js';
import { readVhdStream } from './vhd-stream-reader.js';
import { ImageTruncatedError, StorageValueError } from '../../core/ports/storage-errors.js';

export async function vhdImageOf(dev: BlockDevice, uuid: string): Promise<VhdImage> {
  const plan = await planVhdStream(dev);
  return { length: plan.length, chunks: () => vhdStreamParts(dev, plan, uuid) };
}

export async function openVhdSource(path: string): Promise<VhdSource> {
  let f: VhdFile;
  try {
    f = await VhdFile.open(path, { readOnly: true });
  } catch (e) {
    throw new StorageValueError('format', `not a VHD file: ${(e as Error).message}`);
  }
  return {
    size: f.size,
    isDifferencing: f.isDifferencing,
    read: async (o, l) => (await f.read(o, l)).data,
    blockStatus: async (o, l) => (await f.blockStatus(o, l)).map((e) => ({ offset: e.offset, length: e.length, hole: !e.allocated, zero: !e.allocated })),
    close: () => f.close(),
  };
}

/** A VHD body read as it arrives; the format's errors as storage errors. */
export async function* vhdStreamEvents(body: VhdBody): AsyncGenerator<VhdStreamEvent> {
  try {
    yield* readVhdStream(body);
  } catch (e) {
    if (!(e instanceof VhdError)) throw e;
    if (e.code === 'TRUNCATED') throw new ImageTruncatedError(e.message);
    throw new StorageValueError('format', `not a valid VHD: ${e.message}`);
  }
}
