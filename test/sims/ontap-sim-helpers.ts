/**
 * Starting the ONTAP simulator in-process for tests, and small REST helpers over the
 * production client (volumes, LUNs, Snapshot copies by name).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOntapSim, type MakeIscsiTarget, type OntapSim } from '../../sims/ontap/ontap-sim.js';
import { OntapRestClient } from '../../src/storage/netapp/ontap-rest-client.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

export interface SimFixture {
  sim: OntapSim;
  client: OntapRestClient;
  dir: string;
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

export async function startSim(opts: { aggregates?: { name: string; size: number }[]; dir?: string; makeTarget?: MakeIscsiTarget; iscsi?: boolean } = {}): Promise<SimFixture> {
  const dir = opts.dir ?? (await mkdtemp(join(process.env.TMPDIR ?? tmpdir(), 'ontap-sim-')));
  const sim = await startOntapSim({
    listen: { host: '127.0.0.1', port: 0 },
    ...(opts.iscsi ? { iscsi: { host: '127.0.0.1', port: 0 } } : {}),
    username: 'admin',
    password: 'netapp1!',
    aggregates: opts.aggregates ?? [{ name: 'aggr1', size: 100 * GiB }],
    dataDir: dir,
    ...(opts.makeTarget ? { makeTarget: opts.makeTarget } : {}),
  });
  const port = Number(new URL(sim.url).port);
  const client = new OntapRestClient({ host: '127.0.0.1', port, username: 'admin', password: 'netapp1!', fingerprint: sim.fingerprint });
  return {
    sim, client, dir,
    stop: async (o = {}) => {
      client.close();
      await sim.close();
      if (!o.keepDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

type Json = Record<string, unknown>;

export async function volumeByName(c: OntapRestClient, name: string): Promise<Json & { uuid: string; size: number; space: { used: number; available: number; snapshot: { used: number } } }> {
  const [v] = await c.list<Json>('/api/storage/volumes', { name, fields: '**' });
  if (!v) throw new Error(`no volume ${name}`);
  return v as never;
}

export async function lunByPath(c: OntapRestClient, path: string): Promise<Json & { uuid: string; serial_number: string; space: { used: number; guarantee: { requested: boolean; reserved: boolean } } }> {
  const [l] = await c.list<Json>('/api/storage/luns', { name: path, fields: '**' });
  if (!l) throw new Error(`no LUN ${path}`);
  return l as never;
}

export async function aggregateUsed(c: OntapRestClient, name = 'aggr1'): Promise<number> {
  const [a] = await c.list<{ space: { block_storage: { used: number } } }>('/api/storage/aggregates', { name });
  return a!.space.block_storage.used;
}

export async function createVolume(c: OntapRestClient, body: Json): Promise<void> {
  await c.post('/api/storage/volumes', { svm: { name: 'svm0' }, aggregates: [{ name: 'aggr1' }], ...body });
}

export async function snapshotVolume(c: OntapRestClient, vol: string, name: string): Promise<void> {
  const v = await volumeByName(c, vol);
  await c.post(`/api/storage/volumes/${v.uuid}/snapshots`, { name });
}

/** Writes through the LUN as the iSCSI target would (the array's allocation guard applies). */
export async function writeLun(sim: OntapSim, path: string, offset: number, data: Buffer): Promise<void> {
  const m = /^\/vol\/([^/]+)\/([^/]+)$/.exec(path)!;
  const vol = sim.array.state.volumes.find((v) => v.name === m[1])!;
  const lun = sim.array.state.luns.find((l) => l.volume === vol.uuid && l.name === m[2])!;
  await sim.array.store.view(lun.storeId, { serial: lun.serial, thin: true }).write(offset, data);
}

export function filled(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 7;
  for (let i = 0; i < length; i += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b.writeUInt32LE((x | 1) >>> 0, i);
  }
  return b;
}
