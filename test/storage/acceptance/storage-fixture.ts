/**
 * @module
 * What the storage acceptance tests share: a real `islet server` (its fresh pool has the
 * local file SR), a logged-in XenAPI client, `bin/xe`, and the data path through
 * `PUT /import_raw_vdi` and `GET /export_raw_vdi` (content compared by sha256).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XapiClient } from '../../../src/client/xapi-client.js';
import { type IsletProcess, startIslet } from '../../helpers/islet-server.js';
import { type XeRun, xeOn } from '../../helpers/xe.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
type Rec = Record<string, any>;

export type { XeRun } from '../../helpers/xe.js';

export interface StorageFixture {
  readonly islet: IsletProcess;
  readonly api: XapiClient;
  /** The pool's default SR (the local file SR). */
  readonly sr: string;
  xe(...args: string[]): Promise<XeRun>;
  /** xe that must succeed; its trimmed stdout. */
  xeOk(...args: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function startStorageFixture(env: Record<string, string> = {}): Promise<StorageFixture> {
  const home = await mkdtemp(join(tmpdir(), 'xe-home-'));
  const islet = await startIslet({ rootPassword: 'storage-pw', env });
  const api = new XapiClient({ url: islet.url });
  await api.login('root', 'storage-pw');
  const [pool] = (await api.call('pool.get_all')) as string[];
  const sr = String(await api.call('pool.get_default_SR', pool));
  const xe = xeOn(() => ({ port: islet.port, password: 'storage-pw', home }));
  return {
    islet, api, sr, xe,
    xeOk: xe.ok,
    close: async () => {
      await api.logout().catch(() => undefined);
      api.close();
      await islet.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** A new VM from the built-in template, with one thin disk of `size` bytes on `sr`. */
export async function vmWithDisk(api: XapiClient, sr: string, name: string, size: number): Promise<{ vm: string; vdi: string }> {
  const [tpl] = (await api.call('VM.get_by_name_label', 'Other install media')) as string[];
  const vm = String(await api.callAsync('VM.clone', tpl, name));
  const srUuid = String(await api.call('SR.get_uuid', sr));
  await api.call('VM.remove_from_other_config', vm, 'disks');
  await api.call('VM.add_to_other_config', vm, 'disks',
    `<provision><disk device="0" size="${size}" sr="${srUuid}" bootable="true" type="system"/></provision>`);
  await api.callAsync('VM.provision', vm);
  return { vm, vdi: await diskOf(api, vm) };
}

/** The VM's (first) disk. */
export async function diskOf(api: XapiClient, vm: string): Promise<string> {
  for (const vbd of (await api.call('VM.get_VBDs', vm)) as string[]) {
    const r = (await api.call('VBD.get_record', vbd)) as Rec;
    if (r.type === 'Disk') return String(r.VDI);
  }
  throw new Error(`VM ${vm} has no disk`);
}

/** Writes an image into a disk through `PUT /import_raw_vdi` (raw unless `format`). */
export async function importImage(api: XapiClient, vdi: string, body: Buffer | { path: string }, format?: 'raw' | 'vhd'): Promise<void> {
  const task = String(await api.call('task.create', 'test import', ''));
  try {
    let putError: unknown;
    await api.putFile('/import_raw_vdi', { vdi, task_id: task, ...(format ? { format } : {}) }, body).catch((e: unknown) => { putError = e; });
    // The handler settles the task before it answers; a task still pending never reached it.
    if (putError !== undefined && await api.call('task.get_status', task) === 'pending') throw putError;
    await api.waitTask(task);
  } finally {
    await api.call('task.destroy', task).catch(() => undefined);
  }
}

/** The disk's content through `GET /export_raw_vdi`, as a sha256 and a length. */
export async function exportDigest(api: XapiClient, vdi: string, format: 'raw' | 'vhd' = 'raw'): Promise<{ sha: string; length: number }> {
  const h = createHash('sha256');
  let length = 0;
  for await (const c of (await api.getFile('/export_raw_vdi', { vdi, format })) as AsyncIterable<Buffer>) {
    h.update(c);
    length += c.length;
  }
  return { sha: h.digest('hex'), length };
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Deterministic pseudo-random bytes (never all zero). */
export function pattern(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

export async function vdiRecords(api: XapiClient, sr: string): Promise<Rec[]> {
  const all = (await api.call('VDI.get_all_records')) as Record<string, Rec>;
  return Object.values(all).filter((r) => r.SR === sr);
}

/** Σ physical_utilisation of every VDI record of the SR (base copies included). */
export async function summedPhysical(api: XapiClient, sr: string): Promise<number> {
  return (await vdiRecords(api, sr)).reduce((s, r) => s + Number(r.physical_utilisation), 0);
}

/** Runs the SR's garbage collector and waits for it. */
export async function collect(api: XapiClient, sr: string): Promise<void> {
  await api.callAsync('SR.islet_gc', sr);
}

const CHAIN_SCRIPT = `
import hashlib, os, sys, pyvhdi
d, uuid = sys.argv[1], sys.argv[2]
files = []
f = pyvhdi.file(); f.open(os.path.join(d, uuid + '.vhd')); files.append(f)
while f.get_disk_type() == 4:
    p = pyvhdi.file(); p.open(os.path.join(d, str(f.get_parent_identifier()) + '.vhd')); files.append(p)
    f.set_parent(p); f = p
leaf = files[0]; size = leaf.get_media_size(); h = hashlib.sha256(); off = 0
while off < size:
    n = min(4 << 20, size - off); h.update(leaf.read_buffer_at_offset(n, off)); off += n
print(h.hexdigest(), len(files))
`;

/**
 * The content of a VDI as libvhdi (pyvhdi, the system python's) reads it straight from the
 * SR's files, following the differencing chain: an oracle independent of Islet's VHD code.
 */
export async function chainDigest(f: StorageFixture, vdi: string): Promise<{ sha: string; depth: number }> {
  const pbd = ((await f.api.call('SR.get_PBDs', f.sr)) as string[])[0]!;
  const dir = ((await f.api.call('PBD.get_device_config', pbd)) as Record<string, string>).path!;
  const uuid = String(await f.api.call('VDI.get_uuid', vdi));
  const out = await new Promise<string>((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', CHAIN_SCRIPT, dir, uuid], { encoding: 'utf8' }, (e, stdout) => (e ? reject(e) : resolve(stdout)));
  });
  const [sha, depth] = out.trim().split(' ');
  return { sha: sha!, depth: Number(depth) };
}
