/**
 * @module
 * The group's iSCSI side, as an EqualLogic serves it: one target per volume (and per
 * snapshot set online), each with its LUN 0, all behind the group address's one portal.
 * The portal reads the first login PDU of each connection for its `TargetName` and hands
 * the connection to that volume's target (an `IscsiTarget` of `sims/iscsi` on a private
 * loopback port), which then speaks iSCSI with the initiator unchanged. Access records
 * become each target's ACL (initiator IQNs; a CHAP user's record also sets the target's
 * CHAP account from the group's CHAP users), kept in step with the group after every
 * change. Discovery sessions are not served: Islet reads target names from the CLI.
 */
import { createHash } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { IscsiTarget } from '../iscsi/iscsi-target.js';
import type { ArrayStore } from '../array-store/array-store.js';
import type { GroupModel, Volume } from './group-model.js';

interface Served {
  readonly target: IscsiTarget;
  readonly port: number;
  readonly signature: string;
}

/** The bytes of the first PDU: 48-byte header, AHS, data padded to 4 (no digests during login). */
function firstPduLength(b: Buffer): number | undefined {
  if (b.length < 48) return undefined;
  const dsl = (b[5]! << 16) | (b[6]! << 8) | b[7]!;
  return 48 + b[4]! * 4 + ((dsl + 3) & ~3);
}

function loginKeys(pdu: Buffer): Map<string, string> {
  const dsl = (pdu[5]! << 16) | (pdu[6]! << 8) | pdu[7]!;
  const start = 48 + pdu[4]! * 4;
  const out = new Map<string, string>();
  for (const kv of pdu.subarray(start, start + dsl).toString('utf8').split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) out.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return out;
}

export class GroupIscsiPortal {
  private server: Server | undefined;
  private readonly served = new Map<string, Served>();
  private syncing: Promise<void> = Promise.resolve();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly group: GroupModel, private readonly store: ArrayStore, private readonly log?: (m: string) => void) {}

  async listen(host: string, port: number): Promise<{ address: string; port: number }> {
    // The portal only relays PDUs; it must not hold them back (Nagle) where the target would not.
    const server = createServer({ noDelay: true }, (s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    await this.sync();
    const a = server.address() as { address: string; port: number };
    return { address: a.address, port: a.port };
  }

  /** Sessions logged in to a target (the CLI's Connections column). */
  connections(iqn: string): number {
    return this.served.get(iqn)?.target.sessionCount ?? 0;
  }

  /** Brings the targets in line with the group: one per volume and online snapshot. */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.syncNow()).catch((e) => this.log?.(`iscsi portal: ${String(e)}`));
    return this.syncing;
  }

  private wanted(): Map<string, { storeId: string; vol: Volume; kind: 'volume' | 'snapshot' }> {
    const out = new Map<string, { storeId: string; vol: Volume; kind: 'volume' | 'snapshot' }>();
    for (const v of this.group.state.volumes) {
      if (v.online) out.set(v.iqn, { storeId: v.storeId, vol: v, kind: 'volume' });
      for (const s of v.snapshots) if (s.online) out.set(s.iqn, { storeId: s.storeId, vol: v, kind: 'snapshot' });
    }
    return out;
  }

  private async syncNow(): Promise<void> {
    const wanted = this.wanted();
    for (const [iqn, s] of this.served) {
      const w = wanted.get(iqn);
      if (!w || this.signature(w.vol, w.kind) !== s.signature) {
        this.served.delete(iqn);
        await s.target.close();
      }
    }
    for (const [iqn, w] of wanted) {
      if (this.served.has(iqn) || !this.store.has(w.storeId)) continue;
      const signature = this.signature(w.vol, w.kind);
      const chapRec = w.vol.access.find((a) => a.authmethod === 'chap' && (a.applyTo === 'both' || a.applyTo === w.kind));
      const chapUser = chapRec ? this.group.state.chapUsers.find((u) => u.name === chapRec.username) : undefined;
      const target = new IscsiTarget({
        targetIqn: iqn, ...(chapUser ? { chap: { user: chapUser.name, secret: chapUser.password } } : {}),
        identity: { vendor: 'EQLOGIC', product: '100E-00', revision: '1.0' },
        ...(this.log ? { log: this.log } : {}),
      });
      const serial = createHash('sha1').update(iqn).digest('hex').slice(0, 24).toUpperCase();
      target.setLun(0, this.store.view(w.storeId, { serial, thin: w.vol.thin }));
      for (const a of w.vol.access) {
        if (a.initiator && (a.applyTo === 'both' || a.applyTo === w.kind)) target.setAcl(a.initiator, [0]);
      }
      const { port } = await target.listen('127.0.0.1', 0);
      this.served.set(iqn, { target, port, signature });
    }
  }

  private signature(v: Volume, kind: string): string {
    return JSON.stringify([kind, v.access, this.group.state.chapUsers]);
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const need = firstPduLength(buf);
      if (need === undefined || buf.length < need) return;
      client.off('data', onData);
      client.pause();
      const keys = loginKeys(buf.subarray(0, need));
      const name = keys.get('TargetName')?.toLowerCase();
      void this.syncing.then(() => {
        const served = name ? this.served.get(name) : undefined;
        if ((buf[0]! & 0x3f) !== 0x03 || !served) {
          this.log?.(`iscsi portal: no target ${name ?? '(discovery)'} for ${keys.get('InitiatorName') ?? '?'}`);
          client.destroy();
          return;
        }
        const up = createConnection({ host: '127.0.0.1', port: served.port, noDelay: true }, () => {
          up.write(buf);
          client.pipe(up);
          up.pipe(client);
          client.resume();
        });
        up.on('error', () => client.destroy());
        up.on('close', () => client.destroy());
        client.on('close', () => up.destroy());
      });
    };
    client.on('data', onData);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    for (const s of this.served.values()) await s.target.close();
    this.served.clear();
  }
}
