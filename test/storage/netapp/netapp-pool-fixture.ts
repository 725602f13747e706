/**
 * @module
 * What the NetApp acceptance tests share: `islet sim ontap` as a process (REST + iSCSI), a
 * real `islet pool up --hosts 2`, `bin/xe` against the master, an NBD network so disks can
 * be written and read with qemu-io and nbdcopy, and a REST client to ask the array itself.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { XapiClient } from '../../../src/client/xapi-client.js';
import { OntapRestClient } from '../../../src/storage/netapp/ontap-rest-client.js';
import { startPool, type IsletPool } from '../../helpers/islet-pool.js';
import { startOntapSimProcess, type OntapSimProcess } from '../../helpers/ontap-sim-process.js';
import { xeOn } from '../../helpers/xe.js';

const exec = promisify(execFile);
type Rec = Record<string, any>;

export interface NetappPool {
  readonly sim: OntapSimProcess;
  readonly pool: IsletPool;
  readonly api: XapiClient;
  readonly array: OntapRestClient;
  xe(...args: string[]): Promise<{ code: number | null; out: string; err: string }>;
  xeOk(...args: string[]): Promise<string>;
  /** device-config arguments for `xe sr-create`/`sr-probe` reaching the simulator. */
  dc(extra?: Record<string, string>): string[];
  stop(): Promise<void>;
}

export async function startNetappPool(o: { aggregates?: string[] } = {}): Promise<NetappPool> {
  const sim = await startOntapSimProcess({ aggregates: o.aggregates ?? ['aggr1:100G'], iscsi: true });
  let pool: IsletPool | undefined;
  try {
    pool = await startPool({ hosts: 2 });
    const api = await pool.client();
    const net = String(await api.call('network.create', {
      name_label: 'nbd', name_description: '', MTU: 1500, other_config: {}, bridge: 'xenbr-nbd', managed: true, tags: [],
    }));
    await api.call('network.add_purpose', net, 'insecure_nbd');
    const home = await mkdtemp(join(tmpdir(), 'xe-home-'));
    const p = pool;
    const xe = xeOn(() => ({ url: p.masterUrl, password: p.rootPassword, home }));
    const array = new OntapRestClient({ host: sim.host, port: sim.port, username: sim.username, password: sim.password, fingerprint: sim.fingerprint });
    return {
      sim, pool, api, array, xe,
      xeOk: xe.ok,
      dc: (extra = {}) => Object.entries({
        target: sim.host, port: String(sim.port), username: sim.username, password: sim.password, storagePoolId: 'aggr1',
        sslfingerprint: sim.fingerprint, ...extra,
      }).map(([k, v]) => `device-config:${k}=${v}`),
      stop: async () => {
        array.close();
        api.close();
        await p.stop();
        await sim.stop();
        await rm(home, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await pool?.stop();
    await sim.stop();
    throw e;
  }
}

interface NbdInfo { address: string; port: number; exportname: string }

/** An NBD URI for the VDI, served by the master. */
export async function nbdUri(api: XapiClient, vdi: string): Promise<string> {
  const infos = (await api.call('VDI.get_nbd_info', vdi)) as NbdInfo[];
  const i = infos[0];
  if (!i) throw new Error(`no NBD export for ${vdi}`);
  return `nbd://${i.address}:${i.port}/${encodeURIComponent(i.exportname)}`;
}

/** Writes `length` bytes of byte `fill` at `offset` through NBD (qemu-io). */
export async function nbdWrite(api: XapiClient, vdi: string, offset: number, length: number, fill: number): Promise<void> {
  await exec('qemu-io', ['-f', 'raw', '-c', `write -P ${fill} ${offset} ${length}`, await nbdUri(api, vdi)], { maxBuffer: 1 << 20 });
}

/** Checks that `length` bytes at `offset` all hold `fill` (qemu-io's read -P fails otherwise). */
export async function nbdVerify(api: XapiClient, vdi: string, offset: number, length: number, fill: number): Promise<boolean> {
  const { stdout } = await exec('qemu-io', ['-f', 'raw', '-r', '-c', `read -P ${fill} ${offset} ${length}`, await nbdUri(api, vdi)], { maxBuffer: 1 << 20 });
  return !/Pattern verification failed/.test(stdout);
}

/** sha256 of the whole disk read through NBD (nbdcopy to stdout). */
export async function nbdSha256(api: XapiClient, vdi: string): Promise<string> {
  const uri = await nbdUri(api, vdi);
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    const child = spawn('nbdcopy', [uri, '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.on('data', (d: Buffer) => h.update(d));
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(h.digest('hex')) : reject(new Error(`nbdcopy ${uri}: ${code} ${err}`))));
  });
}

export interface ArrayLun {
  uuid: string;
  name: string;
  space: { size: number; used: number; guarantee: { requested: boolean; reserved: boolean } };
}

/** The LUN holding a VDI, as the array reports it (undefined when there is none). */
export async function lunOfVdi(f: NetappPool, vdiUuid: string): Promise<ArrayLun | undefined> {
  const [l] = await f.array.list<ArrayLun>('/api/storage/luns', { name: `*/${vdiUuid}`, fields: 'name,space' });
  return l;
}

export async function aggregateUsed(f: NetappPool, name = 'aggr1'): Promise<number> {
  const [a] = await f.array.list<{ space: { block_storage: { used: number; available: number } } }>('/api/storage/aggregates', { name, fields: 'space' });
  return a!.space.block_storage.used;
}

export async function volumeOfSr(f: NetappPool, srUuid: string): Promise<Rec> {
  const [v] = await f.array.list<Rec>('/api/storage/volumes', { comment: `islet-sr:${srUuid}`, fields: '**' });
  if (!v) throw new Error(`no FlexVol for SR ${srUuid}`);
  return v;
}

export async function arrayVolumeNames(f: NetappPool): Promise<string[]> {
  return (await f.array.list<{ name: string }>('/api/storage/volumes', { fields: 'name' })).map((v) => v.name).sort();
}
