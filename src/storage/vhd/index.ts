/**
 * @module
 * Islet's VHD library: create, open, read and write fixed, dynamic and differencing VHD files
 * as XenServer's blktap lays them out, stack them into chains, and copy stored data between
 * them for coalesce. A pure library over files; it has no dependency on the rest of Islet.
 */
export { VhdError, VhdErrorCode } from './errors.js';
export { DiskType, MAX_VHD_SIZE, type Footer } from './footer.js';
export { DEFAULT_BLOCK_SIZE, PlatformCode, type DynamicHeader, type ParentLocatorEntry } from './dynamic-header.js';
export { geometryForSize, type Geometry } from './geometry.js';
export { createDynamic, createDifferencing, createFixed, type CreateOptions } from './vhd-create.js';
export { VhdFile, type Extent, type MappedRange, type OpenOptions } from './vhd-file.js';
export { VhdChain, DEFAULT_MAX_DEPTH, type ChainOptions, type DataChunk } from './vhd-chain.js';
export { coalesceInto, copyAllocated, type CopyStats } from './coalesce.js';

import { VhdFile as File, type OpenOptions as Opts } from './vhd-file.js';
/** Opens and validates one VHD file (same as `VhdFile.open`). */
export function open(path: string, opts: Opts = {}): Promise<File> {
  return File.open(path, opts);
}
