/**
 * @module
 * The iSCSI target both array simulators serve their LUNs through (one target per array
 * or per volume), also runnable alone as `islet sim iscsi`. It holds the LUNs (any
 * `LunStore`), the ACL deciding which initiator IQN sees which LUN numbers (igroups,
 * access records), CHAP, and the sessions: a new login with the ISID of a live session
 * reinstates it, ending the old connection and waiting for its tasks before the new one
 * runs anything, so a re-issued write can never be overtaken by its own older copy.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { defaultParams } from '../../src/storage/iscsi/negotiation.js';
import type { TextPairs } from '../../src/storage/iscsi/pdu.js';
import type { LunStore } from './lun-store.js';
import type { TargetIdentity } from './scsi-inquiry.js';
import { TargetConnection, type TargetHost } from './target-connection.js';
import type { LoginPolicy } from './target-login.js';

export interface IscsiTargetOptions {
  targetIqn: string;
  chap?: { user: string; secret: string };
  mutualChap?: { user: string; secret: string };
  log?: (m: string) => void;
  /** Vendor, product and revision in INQUIRY (default ISLET / SIM-LUN / 0001). */
  identity?: TargetIdentity;
  /** Every initiator sees every LUN (the standalone simulator); otherwise only the ACL counts. */
  allowAll?: boolean;
  /** Offer CRC32C digests (default true). */
  digests?: boolean;
  /** A login must finish within this (default 15 s). */
  loginTimeoutMs?: number;
  /** A write waiting for its Data-Out this long drops the connection (default 60 s). */
  dataOutTimeoutMs?: number;
}

export class IscsiTarget implements TargetHost {
  readonly policy: LoginPolicy;
  readonly identity: TargetIdentity;
  readonly timeouts: { loginMs: number; dataOutMs: number };
  private readonly luns = new Map<number, LunStore>();
  private readonly acl = new Map<string, Set<number>>();
  private readonly connections = new Set<TargetConnection>();
  private readonly sessions = new Map<string, TargetConnection>();
  private server: Server | undefined;
  private tsih = 0;
  private listening: { address: string; port: number } | undefined;

  constructor(private readonly opts: IscsiTargetOptions) {
    const wishes = defaultParams();
    wishes.headerDigest = opts.digests ?? true;
    wishes.dataDigest = opts.digests ?? true;
    wishes.ourMaxRecv = 262144;
    // The largest burst the RFC allows (2^24 - 1): a 2 MiB write from qemu-img needs one
    // R2T after its unsolicited first burst instead of two.
    wishes.maxBurstLength = 16 * 1024 * 1024 - 1;
    wishes.firstBurstLength = 262144;
    wishes.maxOutstandingR2T = 4;
    wishes.initialR2T = false;
    wishes.defaultTime2Retain = 0;
    wishes.defaultTime2Wait = 0;
    this.policy = {
      targetIqn: opts.targetIqn.toLowerCase(),
      ...(opts.chap ? { chap: opts.chap } : {}),
      ...(opts.mutualChap ? { mutualChap: opts.mutualChap } : {}),
      mayLogin: (iqn) => this.opts.allowAll === true || this.acl.has(iqn.toLowerCase()),
      wishes,
    };
    this.timeouts = { loginMs: opts.loginTimeoutMs ?? 15_000, dataOutMs: opts.dataOutTimeoutMs ?? 60_000 };
    this.identity = opts.identity ?? { vendor: 'ISLET', product: 'SIM-LUN', revision: '0001' };
  }

  get targetIqn(): string {
    return this.policy.targetIqn;
  }

  log(m: string): void {
    this.opts.log?.(m);
  }

  async listen(host: string, port: number): Promise<{ address: string; port: number }> {
    const server = createServer((s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    this.listening = { address: a.address, port: a.port };
    return this.listening;
  }

  setLun(lun: number, store: LunStore): void {
    if (!Number.isInteger(lun) || lun < 0 || lun > 16383) throw new RangeError(`LUN ${lun} is out of range 0–16383`);
    this.luns.set(lun, store);
  }

  removeLun(lun: number): void {
    this.luns.delete(lun);
  }

  /** Which LUN numbers an initiator sees; an empty list lets it log in and see nothing. */
  setAcl(initiatorIqn: string, luns: readonly number[]): void {
    this.acl.set(initiatorIqn.toLowerCase(), new Set(luns));
  }

  /** Removes an initiator from the ACL; its sessions end. */
  removeAcl(initiatorIqn: string): void {
    const iqn = initiatorIqn.toLowerCase();
    this.acl.delete(iqn);
    if (this.opts.allowAll) return;
    for (const c of this.connections) if (c.initiatorName === iqn) c.close();
  }

  lunFor(initiatorIqn: string, lun: number): LunStore | undefined {
    if (!this.opts.allowAll && !this.acl.get(initiatorIqn)?.has(lun)) return undefined;
    return this.luns.get(lun);
  }

  visibleLuns(initiatorIqn: string): number[] {
    return [...this.luns.keys()].filter((l) => this.lunFor(initiatorIqn, l) !== undefined);
  }

  sendTargets(initiatorIqn: string, which: string, localAddress: string): TextPairs {
    if (which !== 'All' && which !== '' && which.toLowerCase() !== this.policy.targetIqn) return [];
    if (!this.policy.mayLogin(initiatorIqn)) return [];
    const port = this.listening?.port ?? 3260;
    const host = localAddress.includes(':') ? `[${localAddress}]` : localAddress;
    return [['TargetName', this.policy.targetIqn], ['TargetAddress', `${host}:${port},1`]];
  }

  async reinstate(key: string, conn: TargetConnection): Promise<void> {
    const old = this.sessions.get(key);
    this.sessions.set(key, conn);
    if (old && old !== conn) {
      this.log(`iscsi target: reinstating session ${key}`);
      old.close();
      await old.settled();
    }
  }

  allocateTsih(): number {
    this.tsih = (this.tsih % 0xfffe) + 1;
    return this.tsih;
  }

  forget(conn: TargetConnection): void {
    this.connections.delete(conn);
    if (this.sessions.get(conn.sessionKey) === conn) this.sessions.delete(conn.sessionKey);
  }

  /** Sessions currently logged in (for tests and the simulators' status pages). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Drops every connection at once, as a crashed or rebooted array would. */
  dropConnections(): void {
    for (const c of [...this.connections]) c.close();
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.connections.add(new TargetConnection(socket, this));
  }
}
