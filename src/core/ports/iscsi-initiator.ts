/**
 * @module
 * The iSCSI initiator port: how the array SR drivers reach a LUN of a NetApp or EqualLogic
 * array (or of their simulators). Discovery lists a portal's targets; `openLun` logs in (or
 * joins the session already open to that target) and hands back the LUN as a `BlockDevice`
 * so NBD export, import/export, copy and the VM data path treat it exactly like a VHD.
 * The adapter lives in `storage/iscsi`; drivers receive it from `main` and never import it.
 */
import type { BlockDevice } from './block-device.js';

export interface IscsiCredentials {
  /** The host's initiator name, `host.other_config:iscsi_iqn`. */
  readonly initiatorIqn: string;
  /** One-way CHAP: the target authenticates us. */
  readonly chap?: { readonly user: string; readonly secret: string };
  /** Mutual CHAP: what the target must answer with when we challenge it. */
  readonly mutualChap?: { readonly user: string; readonly secret: string };
}

export interface IscsiLunAddress {
  /** "host:port" (3260 when the port is left out); IPv6 hosts in brackets. */
  readonly portal: string;
  readonly targetIqn: string;
  readonly lun: number;
}

/** A LUN as a block device, with the identity the array reports for it. */
export type IscsiLunDevice = BlockDevice & {
  readonly identity: { readonly serial: string; readonly naa?: string };
};

export interface IscsiInitiator {
  discover(portal: string, creds: IscsiCredentials): Promise<{ targetIqn: string; portals: string[] }[]>;
  /** Logs in (or reuses a session to that target) and returns the LUN as a BlockDevice. */
  openLun(addr: IscsiLunAddress, creds: IscsiCredentials, opts?: { readOnly?: boolean }): Promise<IscsiLunDevice>;
  /** Logs out of every session (clean shutdown). */
  close(): Promise<void>;
}

/** Why an iSCSI operation failed, for callers that turn it into a XenAPI error. */
export class IscsiError extends Error {
  constructor(
    /** LOGIN_FAILED, AUTH_FAILED, NOT_FOUND, PROTOCOL, TIMEOUT, SCSI, CLOSED, CONNECT */
    readonly kind: string,
    message: string,
    readonly detail?: { statusClass?: number; statusDetail?: number; senseKey?: number; asc?: number; ascq?: number },
  ) {
    super(message);
    this.name = 'IscsiError';
  }
}
