/**
 * @module
 * Islet's VHD library: create, open, read and write fixed, dynamic and differencing VHD files
 * as XenServer's blktap lays them out, stack them into chains, and copy stored data between
 * them for coalesce. A pure library over files with no dependency on the rest of Islet (the
 * NBD adapter, `vhd-block-device.ts`, is the one module that knows a toolstack port).
 */
import { VhdFile, type OpenOptions } from './vhd-file.js';

export { VhdError, VhdErrorCode } from './errors.js';
export { DiskType, MAX_VHD_SIZE, type Footer } from './footer.js';
export { DEFAULT_BLOCK_SIZE, PlatformCode, type DynamicHeader, type ParentLocatorEntry } from './dynamic-header.js';
export { geometryForSize, type Geometry } from './geometry.js';
export { createDynamic, createDifferencing, createFixed, type CreateOptions } from './vhd-create.js';
export { VhdFile, type Extent, type MappedRange, type OpenOptions, type WriteOptions } from './vhd-file.js';
export { VhdChain, DEFAULT_MAX_DEPTH, type ChainOptions, type DataChunk } from './vhd-chain.js';
export { coalesceInto, copyAllocated, type CoalesceOptions, type CopyStats } from './coalesce.js';

/** Opens and validates one VHD file (same as `VhdFile.open`). */
export function open(path: string, opts: OpenOptions = {}): Promise<VhdFile> {
  return VhdFile.open(path, opts);
}
