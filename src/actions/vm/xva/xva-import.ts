/**
 * @module
 * Reading an XVA into a new VM as the archive streams in (no temporary copy): `ova.xml`
 * first, from which the VM, its disks (on the SR asked for, else the one they came from if
 * this pool has it, else the pool's default SR), drives and interfaces are made; then each
 * 1 MiB chunk is held until its checksum member arrives (`.checksum`, SHA-1, or `.xxhash`,
 * XXH64, whichever the writer chose); chunks are gathered into 8 MiB pieces, each written
 * (as one write, zero chunks left out: the disks are new) while its checksums are
 * verified, a few pieces in flight. Any failure (a wrong checksum, a truncated stream, a bad record)
 * removes everything the import made, so a refused XVA leaves nothing behind.
 */
import type { ActionContext } from '../../../core/action-context.js';
import { ApiError } from '../../../core/api-error.js';
import type { BlockDevice } from '../../../core/ports/block-device.js';
import type { Row } from '../../../core/ports/pool-db.js';
import type { RecordOf } from '../../../core/record-of.js';
import { NULL_REF, isNullRef, isRef, newRef, newUuid, type Ref } from '../../../core/ref.js';
import { checkNewVm } from '../../../core/record-rules.js';
import { isZero } from '../../vdi/block-copy.js';
import { createVdi, destroyVdi, onVdisData } from '../../vdi/vdi-ops.js';
import { createVbd } from '../../vbd/index.js';
import { createVif } from '../../vif/index.js';
import { attachedSr, refIfLive, storageCall } from '../../common/storage-access.js';
import { parseOvaXml, type OvaObject } from './xva-ova-xml.js';
import { importRecord } from './xva-records.js';
import { ByteReader, tarEntries, type PullSource } from './xva-tar.js';
import { XVA_CHUNK } from './xva-export.js';
import { checksumMatches, checksumOfSuffix, type XvaChecksum } from './xva-checksum.js';
import { crashPoint } from '../../../core/crash-point.js';
import { importMark, marked, noteDisk, unmark, type ImportMark } from './xva-import-mark.js';

export interface XvaImportOptions {
  /** SR for the disks (a ref or uuid). */
  readonly sr?: string;
  /** Keep the VM's uuid when no VM has it. */
  readonly preserve?: boolean;
  /** The archive carries no disk data: drives point at the existing disks of the same uuids. */
  readonly metadataOnly?: boolean;
  /** The body's length, for progress. */
  readonly length?: number;
}

const MAX_OVA_XML = 64 * 1024 * 1024;
const bad = (why: string) => new ApiError('IMPORT_ERROR', [why]);

/** What the import made so far, removed again if it fails. */
class Made {
  constructor(readonly mark: ImportMark) {}
  vm?: Ref<'VM'>;
  snapshots: Ref<'VM'>[] = [];
  vdis: Ref<'VDI'>[] = [];
  rows: [string, Ref][] = [];
  async undo(ctx: ActionContext): Promise<void> {
    for (const [cls, ref] of this.rows.reverse()) if (ctx.db.get(cls, ref)) ctx.db.remove(cls, ref);
    for (const vdi of this.vdis) await destroyVdi(ctx, vdi).catch(() => undefined);
    for (const snap of this.snapshots) if (ctx.db.get('VM', snap)) ctx.db.remove('VM', snap);
    if (this.vm && ctx.db.get('VM', this.vm)) ctx.db.remove('VM', this.vm);
  }
  /** Every record made, each still carrying the import's mark until the end. */
  records(): Array<readonly [string, Ref]> {
    return [...this.rows, ...this.vdis.map((r) => ['VDI', r] as const), ...this.snapshots.map((r) => ['VM', r] as const), ...(this.vm ? [['VM', this.vm] as const] : [])];
  }
}

function resolveSr(ctx: ActionContext, given: string | undefined, exported: Row | undefined): Ref<'SR'> {
  if (given) {
    const ref = isRef(given) ? refIfLive(ctx.db, 'SR', given) : ctx.db.refByUuid('SR', given);
    if (!ref) throw new ApiError(isRef(given) ? 'HANDLE_INVALID' : 'UUID_INVALID', ['SR', given]);
    return ref;
  }
  const same = exported?.uuid ? ctx.db.refByUuid('SR', String(exported.uuid)) : undefined;
  if (same && ctx.services.storage?.attached(String(exported!.uuid))) return same;
  const pool = ctx.db.all('pool')[0]?.[1];
  const dflt = pool?.default_SR;
  if (dflt && !isNullRef(dflt) && ctx.db.get('SR', dflt)) return dflt;
  throw new ApiError('IMPORT_ERROR', ['no SR given and the pool has no default SR']);
}

function networkFor(ctx: ActionContext, o: OvaObject, made: Made): Ref<'network'> {
  const uuid = String(o.snapshot.uuid ?? '');
  const byUuid = uuid ? ctx.db.refByUuid('network', uuid) : undefined;
  if (byUuid) return byUuid;
  const label = String(o.snapshot.name_label ?? '');
  const byName = ctx.db.all('network').find(([, r]) => r.name_label === label);
  if (byName) return byName[0];
  const ref = newRef<'network'>();
  const row = importRecord('network', o.snapshot, new Map());
  ctx.db.create('network', ref, { ...row, uuid: newUuid(), bridge: `xapi-import-${ref.slice(-8)}`, other_config: marked(row.other_config as Record<string, string> | undefined, made.mark) });
  made.rows.push(['network', ref]);
  return ref;
}

const isSnapshot = (x: OvaObject) => x.snapshot.is_a_snapshot === true || x.snapshot.is_a_snapshot === '1' || x.snapshot.is_a_snapshot === 1;

/** What a snapshot record keeps of its snapshot fields (runtime fields a creator cannot set). */
function snapshotFields(x: OvaObject, of: string, ids: ReadonlyMap<string, string>): Row {
  return {
    is_a_snapshot: true,
    snapshot_of: ids.get(String(x.snapshot.snapshot_of ?? '')) ?? (of || NULL_REF),
    ...(typeof x.snapshot.snapshot_time === 'string' ? { snapshot_time: x.snapshot.snapshot_time } : {}),
  };
}

/**
 * Makes the records of the archive's VM and, when the archive carries them, its snapshots
 * (VM records that are snapshots of it, with their drives and disks); returns the export
 * id → disk map of every disk whose data the archive holds.
 */
async function makeRecords(ctx: ActionContext, objects: OvaObject[], o: XvaImportOptions, made: Made): Promise<Map<string, { ref: Ref<'VDI'>; row: RecordOf<'VDI'> }>> {
  const vmObj = objects.find((x) => x.cls === 'VM' && !isSnapshot(x)) ?? objects.find((x) => x.cls === 'VM');
  if (!vmObj) throw bad('the archive holds no VM');
  const byId = new Map(objects.map((x) => [x.id, x]));
  const ids = new Map<string, string>();
  const disks = new Map<string, { ref: Ref<'VDI'>; row: RecordOf<'VDI'> }>();

  /** One VM record (the VM or one of its snapshots) with its drives, disks and NICs. */
  const makeVm = async (x: OvaObject, snapshotOf?: Ref<'VM'>): Promise<Ref<'VM'>> => {
    const vmRow = checkNewVm(importRecord('VM', x.snapshot, ids));
    const wantUuid = String(x.snapshot.uuid ?? '');
    const uuid = o.preserve && wantUuid && !ctx.db.refByUuid('VM', wantUuid) ? wantUuid : newUuid();
    const vm = newRef<'VM'>();
    for (const f of ['parent', 'snapshot_of', 'suspend_VDI', 'affinity']) vmRow[f] = NULL_REF;
    // A snapshot comes back halted: a checkpoint's memory image is not part of the archive.
    ctx.db.create('VM', vm, {
      ...vmRow, uuid, power_state: 'Halted', other_config: marked(vmRow.other_config as Record<string, string> | undefined, made.mark),
      ...(snapshotOf ? snapshotFields(x, snapshotOf, ids) : {}),
    });
    if (snapshotOf) made.snapshots.push(vm);
    else made.vm = vm;
    ids.set(x.id, vm);
    for (const vbdObj of objects.filter((y) => y.cls === 'VBD' && String(y.snapshot.VM) === x.id)) {
      const vdiId = String(vbdObj.snapshot.VDI ?? NULL_REF);
      const vdiObj = byId.get(vdiId);
      let vdi: Ref<'VDI'> | undefined = ids.get(vdiId);
      if (!vdi && vdiObj && vdiObj.cls === 'VDI') {
        if (o.metadataOnly) {
          vdi = ctx.db.refByUuid('VDI', String(vdiObj.snapshot.uuid ?? ''));
          if (!vdi) throw bad(`the disk ${String(vdiObj.snapshot.uuid)} of a metadata-only archive is not in this pool`);
        } else {
          const size = Number(vdiObj.snapshot.virtual_size);
          if (!Number.isSafeInteger(size) || size < 0) throw bad(`disk ${vdiId} has no valid virtual_size`);
          const rec = importRecord('VDI', vdiObj.snapshot, ids);
          const srObj = byId.get(String(vdiObj.snapshot.SR ?? ''));
          const sr = resolveSr(ctx, o.sr, srObj?.snapshot as Row | undefined);
          // Noted before the file exists: a crash between the file and its record leaves a file to find.
          const uuid = newUuid();
          noteDisk(ctx, vm, String(ctx.db.get('SR', sr)?.uuid ?? ''), uuid);
          vdi = await createVdi(ctx, {
            SR: sr, virtual_size: size, name_label: String(rec.name_label ?? ''), name_description: String(rec.name_description ?? ''),
            ...(rec.type ? { type: String(rec.type) } : {}), sharable: rec.sharable === true,
            other_config: marked(rec.other_config as Record<string, string> | undefined, made.mark), tags: rec.tags ?? [],
          }, uuid);
          made.vdis.push(vdi);
          if (snapshotOf && isSnapshot(vdiObj)) ctx.db.update('VDI', vdi, snapshotFields(vdiObj, '', ids));
          disks.set(vdiId, { ref: vdi, row: ctx.db.get('VDI', vdi)! });
        }
        ids.set(vdiId, vdi);
      }
      const rec = importRecord('VBD', vbdObj.snapshot, ids);
      const empty = vdi === undefined;
      const ref = createVbd(ctx, {
        ...rec, VM: vm, VDI: vdi ?? NULL_REF, empty, other_config: marked(rec.other_config as Record<string, string> | undefined, made.mark),
        ...(empty && rec.type === 'Disk' ? { type: 'CD', mode: 'RO' } : {}),
      });
      made.rows.push(['VBD', ref]);
    }
    for (const vifObj of objects.filter((y) => y.cls === 'VIF' && String(y.snapshot.VM) === x.id)) {
      const netObj = byId.get(String(vifObj.snapshot.network ?? ''));
      if (!netObj) throw bad(`interface ${vifObj.id} names no network of the archive`);
      const rec = importRecord('VIF', vifObj.snapshot, ids);
      const ref = createVif(ctx, { ...rec, VM: vm, network: networkFor(ctx, netObj, made), other_config: marked(rec.other_config as Record<string, string> | undefined, made.mark) });
      made.rows.push(['VIF', ref]);
    }
    return vm;
  };

  const vm = await makeVm(vmObj);
  // The VM's own disks are made first, so that a snapshot disk can name the disk it was taken of.
  for (const snap of objects.filter((x) => x.cls === 'VM' && x !== vmObj && isSnapshot(x) && String(x.snapshot.snapshot_of) === vmObj.id)) {
    await makeVm(snap, vm);
  }
  return disks;
}

/** A chunk read, waiting for its checksum member. */
interface Pending {
  id: string;
  index: number;
  name: string;
  length: number;
}

/** A chunk and the checksum its member gave. */
interface Checked {
  index: number;
  data: Buffer;
  kind: XvaChecksum;
  text: string;
}

/**
 * Chunks of one disk gathered into 8 MiB pieces (eight 1 MiB chunks, aligned as four VHD
 * blocks), each going to the disk as one write: a VHD stores the new blocks of one write
 * together, with one footer move and one BAT write between them.
 */
interface Gather {
  id: string;
  /** Index of the piece (chunk index / CHUNKS_PER_PIECE). */
  block: number;
  buf: Buffer;
  chunks: Checked[];
}

/** Like `Promise.all`, but settles only once every write has: the buffer is then reused. */
async function settleAllWrites(writes: Promise<void>[]): Promise<void> {
  const rs = await Promise.allSettled(writes);
  for (const r of rs) if (r.status === 'rejected') throw r.reason;
}

const CHUNKS_PER_PIECE = 8;
const PIECE = CHUNKS_PER_PIECE * XVA_CHUNK;

/**
 * Chunk work (verify and write) with a few chunks in flight: the next chunk streams in
 * while earlier ones are hashed (off the main thread for SHA-1) and written. The first
 * failure is kept and thrown by the next `add` or by `drain`.
 */
class Window {
  private readonly running = new Set<Promise<void>>();
  private failure: { e: unknown } | undefined;

  constructor(private readonly width: number) {}

  async add(work: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.width && !this.failure) await Promise.race(this.running);
    if (this.failure) throw this.failure.e;
    const p: Promise<void> = work().catch((e: unknown) => { this.failure ??= { e }; }).finally(() => { this.running.delete(p); });
    this.running.add(p);
  }

  async drain(): Promise<void> {
    while (this.running.size) await Promise.race(this.running);
    if (this.failure) throw this.failure.e;
  }
}

/** Imports the XVA read from `body`; returns the new VM. */
export async function importXva(ctx: ActionContext, body: AsyncIterable<Buffer> | PullSource, o: XvaImportOptions = {}): Promise<Ref<'VM'>> {
  const reader = new ByteReader(body);
  const entries = tarEntries(reader);
  const made = new Made(importMark(ctx));
  const open = new Map<string, BlockDevice>();
  // Pieces in flight (each being verified and written) while the next streams in.
  const window = new Window(3);
  // Chunks are gathered into these buffers, reused once written: fresh 8 MiB buffers
  // cost page faults and garbage collections.
  const spare: Buffer[] = [];
  try {
    const first = await entries.next();
    if (first.done || first.value.name !== 'ova.xml') throw bad('the archive does not start with ova.xml');
    if (first.value.size > MAX_OVA_XML) throw bad('ova.xml is too large');
    const doc = parseOvaXml((await reader.exactly(first.value.size, 'ova.xml')).toString('utf8'));
    const disks = await makeRecords(ctx, doc.objects, o, made);
    crashPoint('xva-import.records-made');
    let pending: Pending | undefined;
    let gather: Gather | undefined;
    const deviceOf = async (id: string): Promise<{ dev: BlockDevice; ref: Ref<'VDI'> }> => {
      const disk = disks.get(id);
      if (!disk) throw bad(`data for ${id}, which is no disk of the archive`);
      let dev = open.get(id);
      if (!dev) {
        await window.drain();
        for (const [k, d] of open) {
          await d.flush();
          await d.close();
          open.delete(k);
        }
        const sr = attachedSr(ctx, disk.row.SR);
        dev = await storageCall(() => sr.activate(String(disk.row.uuid), { readOnly: false }));
        open.set(id, dev);
      }
      return { dev, ref: disk.ref };
    };
    /**
     * Verifies the gathered chunks and writes them. The disks are new (nothing reads them,
     * they read as zeroes): zero runs are not written, data goes out as written, without
     * comparing with what the disk holds. A mismatch fails the import, which removes them.
     */
    const flushGather = async (): Promise<void> => {
      const g = gather;
      gather = undefined;
      if (!g) return;
      const { dev, ref } = await deviceOf(g.id);
      const base = g.block * PIECE;
      const end = Math.max(...g.chunks.map((c) => (c.index % CHUNKS_PER_PIECE) * XVA_CHUNK + c.data.length));
      if (base + end > dev.size) throw new ApiError('VDI_TOO_SMALL', [ref, String(base + end)]);
      // The chunks present as runs of the block buffer (a chunk the archive left out is zeroes).
      const runs: { at: number; length: number }[] = [];
      for (const c of g.chunks.sort((a, b) => a.index - b.index)) {
        const at = (c.index % CHUNKS_PER_PIECE) * XVA_CHUNK;
        if (isZero(c.data)) continue;
        const last = runs[runs.length - 1];
        if (last && last.at + last.length === at) last.length += c.data.length;
        else runs.push({ at, length: c.data.length });
      }
      await window.add(async () => {
        try {
          const [sums] = await Promise.all([
            Promise.all(g.chunks.map((c) => checksumMatches(c.kind, c.data, c.text))),
            storageCall(() => settleAllWrites(runs.map((r) => dev.write(base + r.at, g.buf.subarray(r.at, r.at + r.length))))),
          ]);
          if (sums.some((ok) => !ok)) throw new ApiError('IMPORT_ERROR_SOME_CHECKSUMS_FAILED', []);
          crashPoint('xva-import.piece-written');
        } finally {
          spare.push(g.buf);
        }
      });
    };
    for await (const e of entries) {
      ctx.task?.signal.throwIfAborted();
      const m = /^(.+)\/(\d{8})(\.[a-z0-9]+)?$/.exec(e.name);
      if (!m) {
        await reader.exactly(e.size, e.name);
        continue;
      }
      const [, id, num, suffix] = m;
      if (!suffix) {
        if (pending) throw bad(`${pending.name} has no checksum`);
        if (e.size > XVA_CHUNK) throw bad(`${e.name} is larger than 1 MiB`);
        const index = Number(num);
        const block = Math.floor(index / CHUNKS_PER_PIECE);
        if (gather && (gather.id !== id || gather.block !== block)) await flushGather();
        if (!disks.has(id!)) throw bad(`data for ${id}, which is no disk of the archive`);
        gather ??= { id: id!, block, buf: spare.pop() ?? Buffer.allocUnsafeSlow(PIECE), chunks: [] };
        const at = (index % CHUNKS_PER_PIECE) * XVA_CHUNK;
        if (gather.chunks.some((c) => c.index === index)) throw bad(`${e.name} appears twice`);
        const into = gather.buf.subarray(at, at + e.size);
        const data = await reader.exactly(e.size, e.name, into);
        if (data.buffer !== into.buffer || data.byteOffset !== into.byteOffset) data.copy(into);
        pending = { id: id!, index, name: e.name, length: e.size };
        continue;
      }
      const kind = checksumOfSuffix(suffix);
      if (!kind) throw bad(`${e.name}: unsupported checksum file (a chunk's checksum is .checksum or .xxhash)`);
      const text = (await reader.exactly(e.size, e.name)).toString('ascii');
      if (!pending || pending.name !== `${id}/${num}`) throw bad(`${e.name} follows no chunk of that name`);
      const at = (pending.index % CHUNKS_PER_PIECE) * XVA_CHUNK;
      gather!.chunks.push({ index: pending.index, data: gather!.buf.subarray(at, at + pending.length), kind, text });
      pending = undefined;
      if (gather!.chunks.length === CHUNKS_PER_PIECE) await flushGather();
      if (o.length) ctx.task?.setProgress(Math.min(0.99, reader.consumed / o.length));
    }
    if (pending) throw bad(`${pending.name} has no checksum`);
    await flushGather();
    await window.drain();
    for (const [k, d] of open) {
      await d.flush();
      await d.close();
      open.delete(k);
    }
    // The data written changes the disks' and SRs' space figures, and nothing else.
    await onVdisData(ctx, [...disks.values()].map((d) => d.ref));
    crashPoint('xva-import.data-written');
    // The point of no return: until the marks go, a crash rolls the import back at the next start.
    unmark(ctx, made.records());
    return made.vm!;
  } catch (e) {
    await window.drain().catch(() => undefined);
    for (const d of open.values()) await d.close().catch(() => undefined);
    await made.undo(ctx);
    throw e;
  }
}
