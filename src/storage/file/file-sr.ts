/**
 * @module
 * A file SR attached on this host: the `AttachedSr` over one directory of VHD files. Every
 * change of the trees runs under the SR lock (one at a time across processes and hosts);
 * attaching first recovers what a crashed operation left. Space figures come from the file
 * system: `physicalSize` from statfs, `physicalUtilisation` from the blocks really allocated
 * to the SR's own files (so a directory on a shared file system reports only what this SR
 * uses), `virtualAllocation` from the visible disks; a census keeps them and looks again
 * only at files that may have changed. Snapshots and clones asked for together are done as
 * one change (`SnapshotBatches`).
 *
 * Disks opened with `activate` are paused and reopened around tree changes in this
 * process. A disk active on another host of a shared SR is not: the toolstack runs such
 * changes on the host where the disk is active, as xapi does.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SrNotAttachedError, StorageError, VdiInUseError, VdiReadOnlyError } from '../../core/ports/storage-errors.js';
import type { BlockDevice } from '../../core/ports/block-device.js';
import type { AttachedSr, GcReport, SnapshotResult, SrStat, VdiCreateSpec, VdiInfo, VhdImage, VhdBody, VhdSource, VhdStreamEvent } from '../../core/ports/sr-driver.js';
import { VhdError } from '../vhd/index.js';
import { VhdBlockDevice } from '../vhd/vhd-block-device.js';
import { openVhdSource, vhdImageOf, vhdStreamEvents } from '../vhd/vhd-image.js';
import { ActiveDisk } from './active-disk.js';
import { ActivityMarkers } from './activity-markers.js';
import { allocatedBytes } from './durable-fs.js';
import { gcStep, isAbort, type GcRunState } from './gc.js';
import { Journal } from './journal.js';
import { recoverAll, recoverPending } from './recovery.js';
import type { SrContext } from './sr-context.js';
import { SrDir, toVdiInfo } from './sr-dir.js';
import { backendError, isNoSpace, srFull } from './sr-errors.js';
import { SrLock } from './sr-lock.js';
import { SnapshotBatches } from './snapshot-batches.js';
import { SrCensus } from './sr-census.js';
import { createVdi, destroyVdi, readExisting, resizeVdi } from './tree-ops.js';
import { VdiTree } from './vdi-tree.js';

/** Checks the directory holds the SR `srUuid`; the error names what is there instead. */
export async function checkIdentity(dir: SrDir, srUuid: string): Promise<void> {
  let id;
  try {
    id = await dir.readIdentity();
  } catch (e) {
    throw backendError('SRUnavailable', `cannot read ${dir.identityFile}: ${(e as Error).message}`);
  }
  if (!id) throw backendError('SRUnavailable', `no SR at ${dir.path}`);
  if (id.uuid !== srUuid) throw backendError('SRUnavailable', `${dir.path} holds SR ${id.uuid}, not ${srUuid}`);
}

/** Bytes allocated to the SR's own files: the VHDs, its identity, flags and journal. */
export async function usedBytes(dir: SrDir): Promise<number> {
  let total = 0;
  for (const base of [dir.path, join(dir.path, '.journal')]) {
    const entries = await readdir(base, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isFile()) total += await allocatedBytes(join(base, e.name));
  }
  return total;
}

/** A file-system failure as the storage failure it means; storage failures pass through. */
async function storageFailure(dir: SrDir, e: unknown): Promise<unknown> {
  if (e instanceof StorageError) return e;
  if (isNoSpace(e)) return srFull(0, await dir.freeBytes().catch(() => 0));
  if (e instanceof VhdError) return backendError('VDIUnavailable', e.message);
  return e;
}

async function guard<T>(dir: SrDir, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw await storageFailure(dir, e);
  }
}

export class FileSr implements AttachedSr {
  private readonly lock: SrLock;
  private readonly journal: Journal;
  private readonly disks = new Map<string, ActiveDisk>();
  private readonly markers: ActivityMarkers;
  /** Disks open in other attachments, as of the current lock hold. */
  private elsewhere = new Set<string>();
  private readonly ctx: SrContext;
  private detached = false;
  private readonly batches: SnapshotBatches;
  private readonly census: SrCensus;

  private constructor(
    readonly srUuid: string,
    readonly dir: SrDir,
  ) {
    this.lock = new SrLock(dir.lockFile);
    this.journal = new Journal(dir.path);
    this.markers = new ActivityMarkers(dir.path);
    this.ctx = {
      srUuid,
      dir,
      journal: this.journal,
      isActive: (uuid) => this.disks.has(uuid) || this.elsewhere.has(uuid),
      isActiveElsewhere: (uuid) => this.elsewhere.has(uuid),
      pause: async (uuids, operation) => {
        const all = [...new Set(uuids)];
        const away = all.find((u) => this.elsewhere.has(u));
        if (away) throw new VdiInUseError(away, operation);
        const paused = all.map((u) => this.disks.get(u)).filter((d): d is ActiveDisk => d !== undefined);
        for (const d of paused) await d.pause();
        return async () => {
          for (const d of paused) await d.resume();
        };
      },
    };
    this.census = new SrCensus(dir);
    this.batches = new SnapshotBatches({
      ctx: this.ctx,
      locked: (fn) => this.locked(fn),
      touched: (uuids) => this.census.invalidate(uuids),
      answer: async (req, outcome) => {
        if (!outcome.ok) throw await storageFailure(this.dir, outcome.error);
        const flags = await this.dir.readOnlyFlags();
        return {
          created: await this.info(req.created!, flags),
          original: await this.info(req.leaf, flags),
          ...(outcome.base ? { base: await this.info(outcome.base, flags) } : {}),
        };
      },
    });
  }

  /** Attaches the SR at `path`, recovering any operation a crash interrupted. */
  static async attach(srUuid: string, path: string): Promise<FileSr> {
    const dir = new SrDir(path);
    await checkIdentity(dir, srUuid);
    const sr = new FileSr(srUuid, dir);
    await sr.journal.init();
    await sr.markers.init();
    await sr.lock.run(() => guard(dir, () => recoverAll(sr.ctx)));
    return sr;
  }

  /**
   * Runs `fn` under the SR lock, after recovering any operation left unfinished (one that
   * died on another host, or whose own undo failed here): nothing may change a tree with an
   * unfinished operation in it, and nothing may read one. `changes`: `fn` may change files
   * without saying which (the census looks at every file again).
   */
  private locked<T>(fn: () => Promise<T>, opts: { changes?: boolean } = {}): Promise<T> {
    if (this.detached) return Promise.reject(new SrNotAttachedError(this.srUuid));
    return this.lock.run(() =>
      guard(this.dir, async () => {
        if (this.lock.heldByOthers) this.census.invalidate();
        if ((await recoverPending(this.ctx)) > 0) this.census.invalidate();
        const before = this.elsewhere;
        this.elsewhere = await this.markers.foreign();
        // A disk another host stopped writing: what it wrote last is not known here yet.
        this.census.invalidate([...before].filter((u) => !this.elsewhere.has(u)));
        try {
          return await fn();
        } finally {
          if (opts.changes) this.census.invalidate();
        }
      }),
    );
  }

  /**
   * Runs `fn`, which changes the file of `uuid` and no other (a create, a resize, a
   * destroy), then has the census look at that file alone again, even when `fn` failed.
   */
  private async touching<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      this.census.invalidate([uuid]);
    }
  }

  private async info(uuid: string, flags?: ReadonlySet<string>): Promise<VdiInfo> {
    return toVdiInfo(await readExisting(this.ctx, uuid), flags ?? (await this.dir.readOnlyFlags()));
  }

  /** Disks being written: here, and on other hosts (as of the current lock hold). */
  private volatile(): Set<string> {
    return new Set([...this.disks.keys(), ...this.elsewhere]);
  }

  stat(): Promise<SrStat> {
    return this.locked(async () => {
      const [{ nodes, broken, used }, physicalSize] = await Promise.all([this.census.take(this.volatile()), this.dir.sizeBytes()]);
      return {
        identity: this.srUuid,
        physicalSize,
        physicalUtilisation: used,
        virtualAllocation: nodes.filter((n) => !n.hidden).reduce((s, n) => s + n.virtualSize, 0),
        ...(broken.length ? { warnings: broken.map((u) => `VHD file ${this.dir.vhd(u)} cannot be read; the disk is left out`) } : {}),
      };
    });
  }

  /** Every node, every file looked at anew (what `SR.scan` asks for). */
  scan(): Promise<VdiInfo[]> {
    return this.locked(async () => {
      this.census.invalidate();
      const [flags, { nodes }] = await Promise.all([this.dir.readOnlyFlags(), this.census.take(this.volatile())]);
      return new VdiTree(nodes).ordered().map((n) => toVdiInfo(n, flags));
    });
  }

  vdiCreate(spec: VdiCreateSpec): Promise<VdiInfo> {
    return this.locked(async () => {
      await this.touching(spec.uuid, () => createVdi(this.ctx, spec.uuid, spec.virtualSize, spec.allocation === 'thick'));
      return this.info(spec.uuid);
    });
  }

  vdiDestroy(uuid: string): Promise<void> {
    return this.locked(() => this.touching(uuid, () => destroyVdi(this.ctx, uuid)));
  }

  vdiResize(uuid: string, newVirtualSize: number): Promise<VdiInfo> {
    return this.locked(async () => {
      await this.touching(uuid, () => resizeVdi(this.ctx, uuid, newVirtualSize));
      return this.info(uuid);
    });
  }

  private copyOnWrite(uuid: string, newUuid: string, readOnly: boolean): Promise<SnapshotResult> {
    return this.batches.request({ leaf: uuid, created: newUuid, readOnly });
  }

  vdiSnapshot(uuid: string, newUuid: string): Promise<SnapshotResult> {
    return this.copyOnWrite(uuid, newUuid, true);
  }

  vdiClone(uuid: string, newUuid: string): Promise<SnapshotResult> {
    return this.copyOnWrite(uuid, newUuid, false);
  }

  vdiStat(uuid: string): Promise<VdiInfo> {
    return this.locked(() => this.info(uuid));
  }

  activate(uuid: string, opts: { readOnly: boolean }): Promise<BlockDevice> {
    return this.locked(async () => {
      const info = await this.info(uuid);
      if (!opts.readOnly && info.readOnly) throw new VdiReadOnlyError(uuid);
      // One writer per disk across hosts; block tables cached elsewhere would go stale.
      if (!opts.readOnly && this.elsewhere.has(uuid)) throw new VdiInUseError(uuid, 'attach');
      let disk = this.disks.get(uuid);
      const closing = disk?.closingDone;
      if (closing) {
        // Its last handle just went; the chain is still being flushed and closed.
        await closing.catch(() => undefined);
        disk = this.disks.get(uuid);
        if (disk?.closingDone) {
          this.disks.delete(uuid);
          disk = undefined;
        }
      }
      if (!disk) {
        const path = this.dir.vhd(uuid);
        await this.markers.add(uuid);
        try {
          disk = await ActiveDisk.open(
            uuid,
            () => VhdBlockDevice.open(path, { readOnly: info.hidden }),
            async (d) => {
              if (this.disks.get(uuid) !== d) return;
              this.census.invalidate([uuid]);
              this.disks.delete(uuid);
              await this.markers.remove(uuid);
            },
          );
        } catch (e) {
          await this.markers.remove(uuid);
          throw e;
        }
        this.disks.set(uuid, disk);
      }
      return disk.handle(opts.readOnly);
    });
  }

  async deactivate(uuid: string): Promise<void> {
    await this.disks.get(uuid)?.closeAll();
  }

  /** Collects and coalesces until nothing is left to do, or `signal` aborts (between or within steps). */
  async gc(opts: { signal?: AbortSignal } = {}): Promise<GcReport> {
    const report = { removed: [] as string[], coalesced: [] as string[], split: [] as string[] };
    const run: GcRunState = { skip: new Set(), splits: new Map(), ...(opts.signal ? { signal: opts.signal } : {}) };
    while (!opts.signal?.aborted) {
      let step;
      try {
        // A step that found nothing to do changed nothing: the census keeps what it knows.
        // One that tried a merge and gave up for want of space (undone, but files were
        // written meanwhile) is counted as a change.
        step = await this.locked(async () => {
          const skipped = run.skip.size;
          const done = await gcStep(this.ctx, run).catch((e: unknown) => {
            this.census.invalidate();
            throw e;
          });
          if (done || run.skip.size > skipped) this.census.invalidate();
          return done;
        });
      } catch (e) {
        if (isAbort(e)) break;
        throw e;
      }
      if (!step) break;
      report.removed.push(...step.removed);
      report.coalesced.push(...step.coalesced);
      report.split.push(...step.split);
    }
    return report;
  }

  async detach(): Promise<void> {
    if (this.detached) return;
    for (const d of [...this.disks.values()]) await d.closeAll();
    // Wait for an operation in progress, then refuse new ones.
    await this.lock.run(async () => undefined);
    this.detached = true;
  }

  exportVhd(dev: BlockDevice, uuid: string): Promise<VhdImage> {
    return vhdImageOf(dev, uuid);
  }

  openVhd(path: string): Promise<VhdSource> {
    return openVhdSource(path);
  }

  readVhdStream(body: VhdBody): AsyncIterable<VhdStreamEvent> {
    return vhdStreamEvents(body);
  }
}
