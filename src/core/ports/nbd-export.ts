/**
 * @module
 * The contract between an NBD protocol server and the toolstack that decides what an
 * export name grants: the server asks the resolver for a name (which carries a VDI and an
 * authorising token) and serves the device it is lent. Declared here so that the resolver
 * (in `api/`) and the server (in `storage/nbd/`) both depend on the port, not on each other.
 */
import type { BlockDevice } from './block-device.js';

/** A device lent to one connection; `release()` is called once, after its last request. */
export interface ExportHandle {
  device: BlockDevice;
  /** Refuse writes even if the device itself is writable. */
  readOnly: boolean;
  release(): Promise<void>;
}

export interface ExportContext {
  /** Whether the connection has been upgraded with STARTTLS. */
  tls: boolean;
  /** `address:port` of the client, for audit logs. */
  peer: string;
}

/** `undefined` means "no such export" (or "not for you": the client cannot tell). */
export type ExportResolver = (name: string, ctx: ExportContext) => Promise<ExportHandle | undefined>;
