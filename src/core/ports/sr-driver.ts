/**
 * @module
 * The storage driver port, in the manner of XenServer's SMAPI: a driver knows how to
 * make, attach and inspect one type of SR (VHD files on a local or shared path, a NetApp
 * or EqualLogic array) and how to make, snapshot, clone and destroy the virtual disks in
 * it. The toolstack keeps the XenAPI records; the driver keeps the bytes and reports
 * what is really there, so space figures come from the storage and never from the model.
 *
 * Snapshot trees follow XenServer: the disks users see are leaves; interior nodes are
 * hidden, read-only base copies that the driver's garbage collector removes or
 * coalesces once nothing visible depends on them. Every multi-step change is journaled
 * by the driver, so a crash at any point leaves every visible disk readable with its
 * exact content.
 */
import type { BlockDevice } from './block-device.js';

export type Allocation = 'thin' | 'thick';

/** What the storage says about one virtual disk. */
export interface VdiInfo {
  readonly uuid: string;
  readonly virtualSize: number;
  /** Bytes really allocated on the storage for this node alone (its own blocks and metadata). */
  readonly physicalUtilisation: number;
  /** The node this one is a differencing child of, if any. */
  readonly parentUuid?: string;
  /** Interior node of a snapshot tree; never shown to users. */
  readonly hidden: boolean;
  readonly readOnly: boolean;
  readonly allocation: Allocation;
  /** Driver-specific facts, surfaced in `VDI.sm_config` (vhd-parent, allocation…). */
  readonly smConfig: Readonly<Record<string, string>>;
  /** A name the storage gives the disk (an ISO's file name), for a record made by a scan. */
  readonly nameLabel?: string;
  /** Where the disk is on the storage (`VDI.location`), when not its uuid. */
  readonly location?: string;
  /** A description the storage keeps for the disk (what another toolstack stored), for a record made by a scan. */
  readonly nameDescription?: string;
  /**
   * The disk this one is a snapshot of, and when it was taken (XenAPI datetime), when the
   * storage records it (an SR another toolstack made); a record made by a scan takes them.
   */
  readonly snapshotOf?: string;
  readonly snapshotTime?: string;
}

/** What the storage says about itself. */
export interface SrStat {
  /** The SR's own identity as the storage reports it (array serial, uuid on disk). */
  readonly identity: string;
  readonly physicalSize: number;
  /** Bytes really in use on the storage. */
  readonly physicalUtilisation: number;
  /** Sum of the virtual sizes of the visible disks. */
  readonly virtualAllocation: number;
  /** Warnings to raise as XenAPI messages (a newer firmware than tested, say). */
  readonly warnings?: readonly string[];
}

export interface ProbeResult {
  readonly uuid: string;
  readonly deviceConfig: Readonly<Record<string, string>>;
  readonly physicalSize?: number;
  readonly smConfig?: Readonly<Record<string, string>>;
}

export interface VdiCreateSpec {
  readonly uuid: string;
  readonly virtualSize: number;
  readonly allocation: Allocation;
  readonly nameLabel?: string;
}

/** The result of snapshotting or cloning a leaf. */
export interface SnapshotResult {
  /** The new disk (the snapshot or the clone). */
  readonly created: VdiInfo;
  /** The original disk after the operation: same uuid, possibly a new node underneath. */
  readonly original: VdiInfo;
  /** A hidden base node made by the operation, if one was needed. */
  readonly base?: VdiInfo;
}

/** What a collection pass did, node by node; a pass that changed nothing leaves all three empty. */
export interface GcReport {
  readonly removed: readonly string[];
  readonly coalesced: readonly string[];
  /** Leaves too big to merge while written, given a new base to merge a step at a time. */
  readonly split: readonly string[];
}

/** An SR attached on this host: its disks can be changed and opened for I/O. */
/** A disk's content in the VHD format, ready to stream: its length is known up front. */
export interface VhdImage {
  readonly length: number;
  /** The bytes in order; call a part's `done` once its buffer is no longer needed (it is reused). */
  chunks(): AsyncIterable<{ readonly data: Buffer; readonly done?: () => void }>;
}

/** A VHD file read as a disk (the body of a VHD import, spooled to a file). */
export interface VhdSource extends Pick<BlockDevice, 'size' | 'read' | 'blockStatus'> {
  /** A differencing image needs its parent, which an import does not have. */
  readonly isDifferencing: boolean;
  close(): Promise<void>;
}

/**
 * What a VHD body read as it arrives yields, in order: first `disk` (before any data), then
 * `data` and `zero` pieces for the disk in any order, each range at most once. A `data`
 * piece's buffer is the reader's: call `release` once it is written (the reader waits for a
 * buffer before reading on, so the consumer may write one piece while the next arrives, but
 * must release pieces as it finishes them). `spool` instead says the body cannot be read
 * in one pass (its metadata or blocks are not in stream order): `body` is the whole body
 * from its first byte, to be stored and opened as a file. The iteration ends without error
 * only once the footer at the end has been checked.
 */
/**
 * A VHD import's body: its bytes as buffers (each valid until the next is asked for), and
 * optionally a way to fill a given buffer directly, which long reads then use (fewer bytes
 * only at the end of the body).
 */
export type VhdBody = AsyncIterable<Buffer> & { readInto?(target: Buffer): Promise<number> };

export type VhdStreamEvent =
  | {
    readonly kind: 'disk';
    /** Virtual size; unknown (undefined) for a fixed VHD until its footer, at the end. */
    readonly size: number | undefined;
    /** A differencing image needs its parent, which an import does not have. */
    readonly isDifferencing: boolean;
  }
  | { readonly kind: 'data'; readonly offset: number; readonly data: Buffer; readonly progress?: number; release(): void }
  | { readonly kind: 'zero'; readonly offset: number; readonly length: number }
  | { readonly kind: 'spool'; readonly reason: string; readonly body: AsyncIterable<Buffer> };

export interface AttachedSr {
  readonly srUuid: string;
  stat(): Promise<SrStat>;
  /** Every node on the storage, hidden ones included. */
  scan(): Promise<VdiInfo[]>;
  vdiCreate(spec: VdiCreateSpec): Promise<VdiInfo>;
  vdiDestroy(uuid: string): Promise<void>;
  vdiResize(uuid: string, newVirtualSize: number): Promise<VdiInfo>;
  /** A read-only snapshot of `uuid`, whose content is the disk's as of now. */
  vdiSnapshot(uuid: string, newUuid: string): Promise<SnapshotResult>;
  /** A writable copy-on-write clone of `uuid`. */
  vdiClone(uuid: string, newUuid: string): Promise<SnapshotResult>;
  vdiStat(uuid: string): Promise<VdiInfo>;
  /** Opens a disk for I/O; read-only for snapshots and hidden nodes. */
  activate(uuid: string, opts: { readOnly: boolean }): Promise<BlockDevice>;
  deactivate(uuid: string): Promise<void>;
  /** Removes and coalesces hidden nodes nothing visible needs; journaled. */
  gc(opts?: { signal?: AbortSignal }): Promise<GcReport>;
  /** Releases the SR on this host. */
  detach(): Promise<void>;
  /** `dev`'s content as a dynamic VHD holding only the blocks with data (VDI export). */
  exportVhd(dev: BlockDevice, uuid: string): Promise<VhdImage>;
  /**
   * Opens the VHD file at `path` as a readable disk (VDI import). A file that is not a VHD
   * fails with `INVALID_VALUE [format, reason]`.
   */
  openVhd(path: string): Promise<VhdSource>;
  /**
   * Reads a VHD body as it arrives (VDI import), without storing it first. A body that is
   * not a valid VHD fails with `INVALID_VALUE [format, reason]`, one that ends too early
   * with `VDI_IO_ERROR`.
   */
  readVhdStream(body: VhdBody): AsyncIterable<VhdStreamEvent>;
}

/**
 * What a driver says of itself, which the pool publishes as the SM record of its SR type
 * (`xe sm-list`; XenCenter and Xen Orchestra read what a type can do there).
 */
export interface SmDescription {
  readonly nameLabel: string;
  readonly nameDescription: string;
  readonly vendor: string;
  readonly copyright: string;
  readonly version: string;
  /** The device-config keys the driver reads, each with what it is. */
  readonly configuration: Readonly<Record<string, string>>;
  /**
   * What the driver can do, in SMAPI's names (`VDI_SNAPSHOT`, `THIN_PROVISIONING`…), each
   * with its version: only what it really does, since clients offer an operation by it.
   */
  readonly features: Readonly<Record<string, number>>;
}

export interface SrDriver {
  /** The SR type this driver serves (`file`, `netapp`, `equallogic`). */
  readonly type: string;
  /** The driver's SM record. */
  readonly sm: SmDescription;
  /** Finds SRs the device config reaches, with their uuids. */
  probe(deviceConfig: Readonly<Record<string, string>>): Promise<ProbeResult[]>;
  /**
   * The SR.probe answer as XenServer prints it for this type, when it is more than a list
   * of SRs (array SRs walk storage systems, then pools, then SRs). Without it SR.probe
   * lists what `probe` finds.
   */
  probeXml?(deviceConfig: Readonly<Record<string, string>>): Promise<string>;
  /** Makes a new, empty SR on the storage. */
  create(srUuid: string, deviceConfig: Readonly<Record<string, string>>, smConfig: Readonly<Record<string, string>>): Promise<SrStat>;
  /**
   * Attaches an existing SR. The storage's own identity decides: attaching a device
   * config that reaches a different SR than `srUuid` fails with a clear error. `smConfig`
   * is the SR record's (an SR another toolstack made says so there).
   */
  attach(srUuid: string, deviceConfig: Readonly<Record<string, string>>, smConfig?: Readonly<Record<string, string>>): Promise<AttachedSr>;
  /** Removes the SR and everything in it from the storage. */
  destroy(srUuid: string, deviceConfig: Readonly<Record<string, string>>): Promise<void>;
}
