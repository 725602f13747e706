/**
 * @module
 * Writing a VM as an XVA, as a stream of buffers produced as the consumer asks for them (no
 * temporary copy): `ova.xml` with the VM, its drives, disks, their SRs, its interfaces and
 * their networks under export-local ids (`Ref:0`, `Ref:1`…), then each disk as 1 MiB
 * members `Ref:N/00000000`, `Ref:N/00000001`… each followed by its checksum member
 * (`….xxhash` as newer XenServer writes, or `….checksum`, the SHA-1, on request). Chunks
 * the disk reports as zeroes (or that read as zeroes) are left out, except the first and
 * the last, as xapi does.
 */
import { hostname } from 'node:os';
import type { ActionContext } from '../../../core/action-context.js';
import { ApiError } from '../../../core/api-error.js';
import type { BlockDevice } from '../../../core/ports/block-device.js';
import type { Row } from '../../../core/ports/pool-db.js';
import type { RecordOf } from '../../../core/record-of.js';
import { readAhead } from '../../../core/read-ahead.js';
import { NULL_REF, isNullRef, xapiDate, type Ref } from '../../../core/ref.js';
import { classByName } from '../../../datamodel/index.js';
import type { Ty } from '../../../datamodel/dsl.js';
import { isZero } from '../../vdi/block-copy.js';
import { attachedSr, mustRow, storageCall, storageError } from '../../common/storage-access.js';
import { writeOvaXml, type OvaObject, type XmlValue } from './xva-ova-xml.js';
import { TAR_END, tarHeader, tarPadding } from './xva-tar.js';
import { CHECKSUM_SUFFIX, chunkChecksum, type XvaChecksum } from './xva-checksum.js';

export const XVA_CHUNK = 1024 * 1024;

export interface XvaExportOptions {
  readonly metadataOnly?: boolean;
  /** Called with the fraction of disk bytes sent. */
  readonly progress?: (fraction: number) => void;
  readonly signal?: AbortSignal;
  /** Also carry the VM's snapshots (their records, drives and disks). */
  readonly includeSnapshots?: boolean;
  /** The checksum member written after each chunk (default `xxhash`, as newer XenServer writes). */
  readonly checksum?: XvaChecksum;
}

/** A record's fields as xapi writes them: refs turned into export ids (or NULL). */
function exportRecord(cls: string, row: Row, ids: ReadonlyMap<string, string>): Record<string, XmlValue> {
  const c = classByName(cls)!;
  const mapRef = (v: unknown) => ids.get(String(v)) ?? NULL_REF;
  const conv = (ty: Ty, v: unknown): XmlValue => {
    if (ty.kind === 'ref') return mapRef(v);
    if (ty.kind === 'set') return Array.isArray(v) ? v.map((x) => conv(ty.of, x)).filter((x) => !(ty.of.kind === 'ref' && x === NULL_REF)) : [];
    if (ty.kind === 'map') {
      const o: Record<string, XmlValue> = {};
      for (const [k, x] of Object.entries((v ?? {}) as Record<string, unknown>)) o[ty.key.kind === 'ref' ? mapRef(k) : k] = conv(ty.value, x);
      return o;
    }
    if (v === undefined || v === null) return '';
    if (typeof v === 'object') return JSON.stringify(v);
    return v as XmlValue;
  };
  const out: Record<string, XmlValue> = {};
  for (const f of c.fields) if (!f.internal && row[f.name] !== undefined) out[f.name] = conv(f.ty, row[f.name]);
  return out;
}

interface Plan {
  readonly xml: Buffer;
  readonly disks: { id: string; vdi: RecordOf<'VDI'> }[];
}

function plan(ctx: ActionContext, vmRef: Ref<'VM'>, metadataOnly: boolean, includeSnapshots: boolean): Plan {
  const vm = mustRow(ctx, 'VM', vmRef);
  if (!metadataOnly && (vm.power_state === 'Running' || vm.power_state === 'Paused')) {
    throw new ApiError('VM_BAD_POWER_STATE', [vmRef, 'halted', String(vm.power_state).toLowerCase()]);
  }
  const order: [string, string, Row][] = [['VM', vmRef, vm]];
  const add = (cls: string, ref: unknown) => {
    if (typeof ref !== 'string' || isNullRef(ref) || order.some(([, r]) => r === ref)) return;
    const row = ctx.db.get(cls, ref);
    if (row) order.push([cls, String(ref), row]);
  };
  const disks: { id: string; vdi: RecordOf<'VDI'> }[] = [];
  const diskRefs: string[] = [];
  const addVm = (ref: Ref<'VM'>, row: RecordOf<'VM'>) => {
    add('VM', ref);
    for (const vbd of row.VBDs ?? []) {
      const vbdRow = ctx.db.get('VBD', vbd);
      if (!vbdRow) continue;
      add('VBD', vbd);
      if (vbdRow.type === 'Disk' && !isNullRef(vbdRow.VDI) && !diskRefs.includes(String(vbdRow.VDI))) {
        add('VDI', vbdRow.VDI);
        diskRefs.push(String(vbdRow.VDI));
      }
    }
    for (const vif of row.VIFs ?? []) add('VIF', vif);
  };
  addVm(vmRef, vm);
  // Snapshots go with their drives and disks, each disk in full (the archive has no chains).
  if (includeSnapshots) {
    for (const [ref, row] of ctx.db.all('VM')) if (row.is_a_snapshot === true && row.snapshot_of === vmRef) addVm(ref, row);
  }
  for (const [cls, , row] of [...order]) if (cls === 'VIF') add('network', row.network);
  for (const [cls, , row] of [...order]) if (cls === 'VDI') add('SR', row.SR);
  const ids = new Map(order.map(([, ref], i) => [ref, `Ref:${i}`]));
  const objects: OvaObject[] = order.map(([cls, ref, row]) => {
    const snap = exportRecord(cls, row, ids);
    // A CD's disc lives on an ISO SR this export does not carry: the drive goes out empty.
    if (cls === 'VBD' && row.type !== 'Disk') Object.assign(snap, { VDI: NULL_REF, empty: true });
    return { cls, id: ids.get(ref)!, snapshot: snap };
  });
  for (const ref of diskRefs) disks.push({ id: ids.get(ref)!, vdi: ctx.db.get('VDI', ref)! });
  const xml = writeOvaXml({
    version: {
      hostname: hostname(), date: xapiDate().slice(0, 10), product_version: '6.0.2', product_brand: 'Islet',
      build_number: '0', xapi_major: 1, xapi_minor: 3, export_vsn: 2,
    },
    objects,
  });
  return { xml: Buffer.from(xml, 'utf8'), disks: metadataOnly ? [] : disks };
}

function member(name: string, data: Buffer): Buffer[] {
  return [tarHeader(name, data.length), data, tarPadding(data.length)];
}

/**
 * The chunk indexes of a disk that hold data, and the first and last always: xapi's importer
 * takes the first chunk's length as every skipped chunk's, and the last marks the end.
 */
async function dataChunks(dev: BlockDevice): Promise<number[]> {
  const last = Math.max(0, Math.ceil(dev.size / XVA_CHUNK) - 1);
  const out = new Set<number>([0]);
  const WINDOW = 1024 * 1024 * 1024;
  for (let w = 0; w < dev.size; w += WINDOW) {
    for (const e of await dev.blockStatus(w, Math.min(WINDOW, dev.size - w))) {
      if (e.zero) continue;
      for (let i = Math.floor(e.offset / XVA_CHUNK); i * XVA_CHUNK < e.offset + e.length; i++) out.add(i);
    }
  }
  out.add(last);
  return [...out].sort((a, b) => a - b);
}

/** A storage stream whose failures read as the storage errors the API reports. */
async function* storageIterable<T>(it: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* it;
  } catch (e) {
    throw storageError(e);
  }
}

/** Runs of consecutive chunks as byte ranges, for reads larger than a chunk. */
function chunkRanges(chunks: readonly number[], size: number): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  for (let k = 0; k < chunks.length;) {
    let j = k;
    while (j + 1 < chunks.length && chunks[j + 1] === chunks[j]! + 1) j++;
    const offset = chunks[k]! * XVA_CHUNK;
    out.push({ offset, length: Math.min(size, (chunks[j]! + 1) * XVA_CHUNK) - offset });
    k = j + 1;
  }
  return out.filter((r) => r.length > 0);
}

/**
 * A piece of the archive. `done`, when present, must be called once the consumer no longer
 * needs `data` (the socket took it): the buffer is then reused for a later read.
 */
export interface XvaPart {
  readonly data: Buffer;
  readonly done?: () => void;
}

/** The XVA of a VM, produced as it is consumed. */
export async function* exportXva(ctx: ActionContext, vmRef: Ref<'VM'>, o: XvaExportOptions = {}): AsyncGenerator<XvaPart> {
  const p = plan(ctx, vmRef, o.metadataOnly === true, o.includeSnapshots === true);
  const kind = o.checksum ?? 'xxhash';
  yield { data: Buffer.concat(member('ova.xml', p.xml)) };
  const total = p.disks.reduce((n, d) => n + Number(d.vdi.virtual_size), 0);
  let sent = 0;
  for (const disk of p.disks) {
    const sr = attachedSr(ctx, disk.vdi.SR);
    const dev = await storageCall(() => sr.activate(String(disk.vdi.uuid), { readOnly: true }));
    try {
      const chunks = await storageCall(() => dataChunks(dev));
      const first = chunks[0]!;
      const last = chunks[chunks.length - 1]!;
      // Runs of chunks are read 4 MiB at a time, a few reads ahead of the consumer; each
      // chunk is a view of its read (no copy), tested for zeroes and hashed.
      const pieces = readAhead(dev, { chunk: 4 * XVA_CHUNK, ahead: 3, ranges: chunkRanges(chunks, dev.size), ...(o.signal ? { signal: o.signal } : {}) });
      for await (const piece of storageIterable(pieces)) {
        // The read buffer goes back once every chunk sent from it has left.
        let users = 1;
        const done = () => { if (--users === 0) piece.release(); };
        for (let at = 0; at < piece.length; at += XVA_CHUNK) {
          o.signal?.throwIfAborted();
          const i = (piece.offset + at) / XVA_CHUNK;
          const data = piece.data!.subarray(at, Math.min(piece.length, at + XVA_CHUNK));
          if (i !== first && i !== last && isZero(data)) continue;
          const name = `${disk.id}/${String(i).padStart(8, '0')}`;
          const sum = await chunkChecksum(kind, data);
          yield { data: tarHeader(name, data.length) };
          users++;
          yield { data, done };
          yield { data: Buffer.concat([tarPadding(data.length), ...member(`${name}${CHECKSUM_SUFFIX[kind]}`, Buffer.from(sum, 'ascii'))]) };
          o.progress?.(total ? (sent + (i + 1) * XVA_CHUNK) / total : 1);
        }
        done();
      }
    } finally {
      await dev.close().catch(() => undefined);
    }
    sent += Number(disk.vdi.virtual_size);
  }
  yield { data: TAR_END };
  o.progress?.(1);
}
