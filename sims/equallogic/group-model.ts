/**
 * @module
 * The state of a simulated EqualLogic PS group and the rules the real group enforces:
 * volumes in pools whose free space is what the reserves leave; thin volumes that reserve
 * `thin-min-reserve` (10%) at first and grow their reserve as their in-use grows, never
 * beyond 100% of their size; a snapshot reserve per volume (a percentage of the volume
 * reserve, 100% by default) that snapshots draw on for the blocks the volume overwrote,
 * with the `delete-oldest` recovery policy that silently deletes the oldest snapshot when
 * the reserve runs out (or, with `volume-offline`, the write fails); a volume must be
 * offline before it is deleted and deleting it deletes its snapshots; clones are new
 * volumes; access records decide which initiators see a volume. Each volume and each
 * snapshot is one iSCSI target (LUN 0) named `iqn.2001-05.com.equallogic:0-8a0906-…-NAME`.
 *
 * Blocks live in the shared copy-on-write array store; this model keeps names, settings
 * and reserves, saved as JSON in the data directory after every change.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCliSize } from './size-text.js';

/** What the model needs of the shared block store (`sims/array-store`). */
export interface GroupBlockStore {
  create(id: string, size: number): Promise<void>;
  clone(sourceId: string, id: string): Promise<void>;
  delete(id: string): Promise<void>;
  resize(id: string, size: number): Promise<void>;
  has(id: string): boolean;
  size(id: string): number;
  mappedBytes(id: string): number;
  bytesOnlyIn(ids: Iterable<string>, others: Iterable<string>): number;
}

/** A failure the CLI prints as `% Error - …`. */
export class GroupError extends Error {}

export interface AccessRecord {
  id: number;
  initiator: string;
  ipaddress: string;
  authmethod: 'none' | 'chap';
  username: string;
  applyTo: 'volume' | 'snapshot' | 'both';
}

export interface Snapshot {
  name: string;
  storeId: string;
  iqn: string;
  created: string;
  description: string;
  online: boolean;
}

export interface Volume {
  name: string;
  pool: string;
  size: number;
  thin: boolean;
  thinMinReservePct: number;
  thinWarnPct: number;
  snapReservePct: number;
  snapWarnPct: number;
  snapDepletion: 'delete-oldest' | 'volume-offline';
  description: string;
  iqn: string;
  storeId: string;
  online: boolean;
  multihost: boolean;
  access: AccessRecord[];
  snapshots: Snapshot[];
}

export interface Pool { name: string; size: number }

export interface GroupState {
  groupName: string;
  firmware: string;
  memberName: string;
  serial: string;
  iqnPrefix: string;
  pools: Pool[];
  volumes: Volume[];
  chapUsers: { name: string; password: string; enabled: boolean }[];
  nextStoreId: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export class GroupModel {
  /** The group's address, set by whoever serves it (not persisted: it may change). */
  address = '';
  /** The iSCSI portal's port, printed by `grpparams show` when it is not 3260. */
  iscsiPort: number | undefined;
  private constructor(readonly state: GroupState, private readonly file: string | undefined, readonly store: GroupBlockStore) {}

  /** Loads `DIR/group.json` or makes a new group from the options (which win for firmware and pool sizes). */
  static open(opts: { dataDir?: string; groupName: string; firmware: string; pools: Pool[]; store: GroupBlockStore }): GroupModel {
    const file = opts.dataDir ? join(opts.dataDir, 'group.json') : undefined;
    let state: GroupState | undefined;
    if (file) {
      try {
        state = JSON.parse(readFileSync(file, 'utf8')) as GroupState;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    if (state && state.groupName !== opts.groupName) {
      throw new Error(`the data directory holds group ${state.groupName}, not ${opts.groupName}`);
    }
    state ??= {
      groupName: opts.groupName,
      firmware: opts.firmware,
      memberName: `${opts.groupName}-m1`,
      serial: randomBytes(8).toString('hex').toUpperCase(),
      iqnPrefix: `iqn.2001-05.com.equallogic:0-8a0906-${randomBytes(5).toString('hex').slice(0, 9)}`,
      pools: [],
      volumes: [],
      chapUsers: [],
      nextStoreId: 1,
    };
    state.firmware = opts.firmware;
    for (const p of opts.pools) {
      const had = state.pools.find((x) => x.name === p.name);
      if (had) had.size = p.size;
      else state.pools.push({ ...p });
    }
    const model = new GroupModel(state, file, opts.store);
    model.save();
    return model;
  }

  /** Called after every change (the iSCSI portal follows volumes and access records). */
  onChange: (() => void) | undefined;

  save(): void {
    this.onChange?.();
    if (!this.file) return;
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.state));
    renameSync(`${this.file}.tmp`, this.file);
  }

  pool(name: string): Pool {
    const p = this.state.pools.find((x) => x.name === name);
    if (!p) throw new GroupError(`Pool ${name} does not exist.`);
    return p;
  }

  volume(name: string): Volume {
    const v = this.state.volumes.find((x) => x.name === name);
    if (!v) throw new GroupError(`Volume ${name} does not exist.`);
    return v;
  }

  snapshot(vol: Volume, name: string): Snapshot {
    const s = vol.snapshots.find((x) => x.name === name);
    if (!s) throw new GroupError(`Snapshot ${name} does not exist.`);
    return s;
  }

  // ---- space ------------------------------------------------------------------------

  inUse(v: Volume): number {
    return this.store.mappedBytes(v.storeId);
  }

  /** A thin volume reserves its minimum, or what it uses when that is more; a thick one its size. */
  volReserve(v: Volume): number {
    if (!v.thin) return v.size;
    const min = Math.ceil((v.size * v.thinMinReservePct) / 100 / 1048576) * 1048576;
    return Math.min(v.size, Math.max(min, this.inUse(v)));
  }

  snapReserve(v: Volume, volReserve = this.volReserve(v)): number {
    return Math.ceil((volReserve * v.snapReservePct) / 100 / 1048576) * 1048576;
  }

  /** Blocks the snapshots hold that the volume no longer does. */
  snapInUse(v: Volume): number {
    if (!v.snapshots.length) return 0;
    return this.store.bytesOnlyIn(v.snapshots.map((s) => s.storeId), [v.storeId]);
  }

  poolUsed(pool: string, except?: Volume): number {
    let n = 0;
    for (const v of this.state.volumes) if (v.pool === pool && v !== except) n += this.volReserve(v) + this.snapReserve(v);
    return n;
  }

  poolFree(pool: string): number {
    return Math.max(0, this.pool(pool).size - this.poolUsed(pool));
  }

  /**
   * The store asks before a write takes `bytes` of new space in `storeId`: a volume's
   * reserve must fit in its pool, and blocks it takes over from its snapshots must fit in
   * the snapshot reserve, deleting the oldest snapshots when the policy says so.
   */
  beforeAllocate(storeId: string, fresh: number, copies: number): void {
    const v = this.state.volumes.find((x) => x.storeId === storeId);
    if (!v) {
      if (this.state.volumes.some((x) => x.snapshots.some((s) => s.storeId === storeId))) {
        throw Object.assign(new Error('snapshots are read-only'), { code: 'EROFS' });
      }
      return;
    }
    const inUse = this.inUse(v) + fresh;
    if (inUse > v.size) throw Object.assign(new Error(`volume ${v.name} is full`), { code: 'ENOSPC' });
    const reserve = v.thin ? Math.max(this.volReserve(v), Math.min(v.size, inUse)) : v.size;
    const needed = reserve + this.snapReserve(v, reserve);
    if (needed > this.pool(v.pool).size - this.poolUsed(v.pool, v)) {
      throw Object.assign(new Error(`pool ${v.pool} has no free space for volume ${v.name}`), { code: 'ENOSPC' });
    }
    if (!copies || !v.snapshots.length) return;
    // Overwritten blocks the snapshots share move to snapshot space.
    while (v.snapshots.length && this.snapInUse(v) + copies > this.snapReserve(v, reserve)) {
      if (v.snapDepletion !== 'delete-oldest') {
        throw Object.assign(new Error(`snapshot reserve of ${v.name} is depleted`), { code: 'ENOSPC' });
      }
      // The store is inside this write: the oldest snapshot leaves the model now and its
      // blocks are released right after the write.
      const oldest = v.snapshots.shift()!;
      void this.store.delete(oldest.storeId).catch(() => undefined);
      this.save();
    }
  }

  // ---- changes ----------------------------------------------------------------------

  private newStoreId(): string {
    return `s${this.state.nextStoreId++}`;
  }

  iqnFor(name: string): string {
    return `${this.state.iqnPrefix}-${randomBytes(8).toString('hex')}-${name.toLowerCase()}`;
  }

  checkName(name: string, what: string): void {
    if (!NAME.test(name)) throw new GroupError(`Invalid ${what} name ${name}.`);
  }

  async createVolume(o: { name: string; size: number; pool: string; thin: boolean; description?: string; snapReservePct?: number }): Promise<Volume> {
    this.checkName(o.name, 'volume');
    if (this.state.volumes.some((x) => x.name === o.name)) throw new GroupError(`Volume name ${o.name} already exists.`);
    if (o.size < 1048576) throw new GroupError('Volume size must be at least 1MB.');
    this.pool(o.pool);
    const v: Volume = {
      name: o.name, pool: o.pool, size: o.size, thin: o.thin,
      thinMinReservePct: 10, thinWarnPct: 60, snapReservePct: o.snapReservePct ?? 100, snapWarnPct: 10,
      snapDepletion: 'delete-oldest', description: o.description ?? '', iqn: this.iqnFor(o.name),
      storeId: this.newStoreId(), online: true, multihost: false, access: [], snapshots: [],
    };
    this.requireSpace(v, this.volReserve0(v) + this.snapReserve(v, this.volReserve0(v)));
    await this.store.create(v.storeId, v.size);
    this.state.volumes.push(v);
    this.save();
    return v;
  }

  /** The reserve of a volume that holds no data yet. */
  private volReserve0(v: Volume): number {
    return v.thin ? Math.ceil((v.size * v.thinMinReservePct) / 100 / 1048576) * 1048576 : v.size;
  }

  private requireSpace(v: Volume, bytes: number): void {
    const free = this.pool(v.pool).size - this.poolUsed(v.pool, v);
    if (bytes > free) {
      throw new GroupError(`Not enough free space in pool ${v.pool} (${formatCliSize(Math.max(0, free))} free, ${formatCliSize(bytes)} needed).`);
    }
  }

  async deleteVolume(name: string): Promise<void> {
    const v = this.volume(name);
    if (v.online) throw new GroupError(`Volume ${name} is online. Set the volume offline before deleting it.`);
    for (const s of v.snapshots) await this.store.delete(s.storeId);
    await this.store.delete(v.storeId);
    this.state.volumes = this.state.volumes.filter((x) => x !== v);
    this.save();
  }

  async resizeVolume(name: string, size: number): Promise<void> {
    const v = this.volume(name);
    if (size < v.size) throw new GroupError('Shrinking a volume is not supported by this command.');
    const grown = { ...v, size };
    this.requireSpace(v, Math.max(this.volReserve(v), this.volReserve0(grown)) + this.snapReserve(v));
    await this.store.resize(v.storeId, size);
    v.size = size;
    this.save();
  }

  async createSnapshot(vol: Volume, description = ''): Promise<Snapshot> {
    if (vol.snapReservePct === 0) throw new GroupError(`Volume ${vol.name} has no snapshot reserve.`);
    const now = new Date();
    const p = (n: number) => String(n).padStart(2, '0');
    const stamp = `${now.getUTCFullYear()}-${p(now.getUTCMonth() + 1)}-${p(now.getUTCDate())}-${p(now.getUTCHours())}:${p(now.getUTCMinutes())}:${p(now.getUTCSeconds())}`;
    let n = 1;
    while (vol.snapshots.some((s) => s.name === `${vol.name}-${stamp}.${n}`)) n++;
    const name = `${vol.name}-${stamp}.${n}`;
    const s: Snapshot = { name, storeId: this.newStoreId(), iqn: this.iqnFor(name), created: now.toISOString(), description, online: false };
    await this.store.clone(vol.storeId, s.storeId);
    vol.snapshots.push(s);
    this.save();
    return s;
  }

  renameSnapshot(vol: Volume, from: string, to: string): void {
    const s = this.snapshot(vol, from);
    this.checkName(to, 'snapshot');
    if (vol.snapshots.some((x) => x.name === to)) throw new GroupError(`Snapshot name ${to} already exists.`);
    s.name = to;
    this.save();
  }

  async deleteSnapshot(vol: Volume, name: string): Promise<void> {
    const s = this.snapshot(vol, name);
    await this.store.delete(s.storeId);
    vol.snapshots = vol.snapshots.filter((x) => x !== s);
    this.save();
  }

  /** A new volume with the content of `source` (a volume or one of its snapshots). */
  async clone(vol: Volume, newName: string, fromSnapshot?: Snapshot, description = ''): Promise<Volume> {
    this.checkName(newName, 'volume');
    if (this.state.volumes.some((x) => x.name === newName)) throw new GroupError(`Volume name ${newName} already exists.`);
    const v: Volume = {
      ...vol, name: newName, description, iqn: this.iqnFor(newName), storeId: this.newStoreId(),
      online: true, multihost: false, access: [], snapshots: [],
    };
    const sourceId = fromSnapshot ? fromSnapshot.storeId : vol.storeId;
    // A clone is a full copy as far as space goes: it must reserve what its source holds.
    const used = this.store.mappedBytes(sourceId);
    const reserve = v.thin ? Math.max(this.volReserve0(v), used) : v.size;
    this.requireSpace(v, reserve + this.snapReserve(v, reserve));
    await this.store.clone(sourceId, v.storeId);
    this.state.volumes.push(v);
    this.save();
    return v;
  }

  addAccess(vol: Volume, r: Omit<AccessRecord, 'id'>): AccessRecord {
    if (vol.access.length >= 16) throw new GroupError('A volume can have at most 16 access control records.');
    const id = Math.max(0, ...vol.access.map((a) => a.id)) + 1;
    const rec = { id, ...r };
    vol.access.push(rec);
    this.save();
    return rec;
  }

  deleteAccess(vol: Volume, id: number): void {
    if (!vol.access.some((a) => a.id === id)) throw new GroupError(`Access control record ${id} does not exist.`);
    vol.access = vol.access.filter((a) => a.id !== id);
    this.save();
  }

  /** Does this initiator (with this CHAP user, if any) pass the access records of `vol` for `kind`? */
  allows(vol: Volume, kind: 'volume' | 'snapshot', initiator: string, chapUser?: string): boolean {
    return vol.access.some((a) =>
      (a.applyTo === 'both' || a.applyTo === kind) &&
      (a.initiator === '' || a.initiator === initiator) &&
      (a.authmethod === 'none' || a.username === chapUser));
  }
}
