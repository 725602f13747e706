/**
 * @module
 * The EqualLogic acceptance setting, as a new user meets it: a real pool of two hosts
 * (`islet pool up --hosts 2`), `bin/xe` against its master, and simulated groups run as
 * `islet sim equallogic` processes; helpers to make an `equallogic` SR with xe and to move
 * bytes in and out of a VDI over NBD (`nbdcopy`), hashed with sha256.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { XapiClient } from '../../../src/client/xapi-client.js';
import { startEqlSimProcess, type EqlSimArgs, type EqlSimProcess } from '../../helpers/equallogic-sim-process.js';
import { startPool, type IsletPool } from '../../helpers/islet-pool.js';
import { missingTools, makeRawFile, runOk } from '../nbd/nbd-fixture.js';
import { type XeRun, xeOn } from '../../helpers/xe.js';

export type { XeRun } from '../../helpers/xe.js';

export interface EqlPool {
  pool: IsletPool;
  api: XapiClient;
  dir: string;
  hosts: string[];
  xe(...args: string[]): Promise<XeRun>;
  xeOk(...args: string[]): Promise<string>;
  sim(a?: EqlSimArgs): Promise<EqlSimProcess>;
  /** `xe sr-create type=equallogic shared=true` against `sim`; the new SR's uuid. */
  createSr(sim: EqlSimProcess, name: string, extra?: string[]): Promise<string>;
  /** Writes `data` at `offset` of the VDI through a host's NBD export. */
  nbdWrite(vdi: string, size: number, regions: { offset: number; data: Buffer }[]): Promise<void>;
  /** sha256 of the VDI's whole content read through NBD. */
  nbdHash(vdi: string): Promise<string>;
  close(): Promise<void>;
}

export const NBD_TOOLS = ['nbdcopy'];

export async function missingNbdTools(): Promise<string[]> {
  return missingTools(NBD_TOOLS);
}

export function deviceConfig(sim: EqlSimProcess, o: { password?: string; pool?: string } = {}): string[] {
  return [
    `device-config:target=${sim.host}`, `device-config:port=${sim.port}`, 'device-config:username=grpadmin',
    `device-config:password=${o.password ?? 'eqlsecret'}`, `device-config:storagePoolId=${o.pool ?? 'default'}`,
  ];
}

export async function startEqlPool(): Promise<EqlPool> {
  const dir = await mkdtemp(join(tmpdir(), 'eql-accept-'));
  const pool = await startPool({ hosts: 2 });
  const api = await pool.client();
  const hosts = [await pool.hostRef(0), await pool.hostRef(1)];
  const sims: EqlSimProcess[] = [];
  const xe = xeOn(() => ({ url: pool.masterUrl, password: pool.rootPassword, home: dir }));
  const xeOk = xe.ok;
  // NBD exports need a network with the NBD purpose.
  const net = String(await api.call('network.create', {
    name_label: 'eql-nbd', name_description: '', MTU: 1500, other_config: {}, bridge: 'xenbr-eqlnbd', managed: true, tags: [],
  }));
  await api.call('network.add_purpose', net, 'insecure_nbd');
  const nbdUri = async (vdi: string): Promise<string> => {
    const ref = String(await api.call('VDI.get_by_uuid', vdi));
    const infos = (await api.call('VDI.get_nbd_info', ref)) as { exportname: string; address: string; port: number }[];
    const i = infos[0];
    if (!i) throw new Error(`no NBD export for VDI ${vdi}`);
    return `nbd://${i.address}:${i.port}/${encodeURIComponent(i.exportname)}`;
  };
  let n = 0;
  return {
    pool, api, dir, hosts, xe, xeOk,
    sim: async (a = {}) => {
      const s = await startEqlSimProcess(a);
      sims.push(s);
      return s;
    },
    createSr: async (sim, name, extra = []) => xeOk('sr-create', 'type=equallogic', 'shared=true', `name-label=${name}`, 'content-type=user', ...deviceConfig(sim), ...extra),
    nbdWrite: async (vdi, size, regions) => {
      const file = join(dir, `w${n++}.raw`);
      await makeRawFile(file, size, regions);
      await runOk('nbdcopy', [file, await nbdUri(vdi)], 120_000);
      await rm(file, { force: true });
    },
    nbdHash: async (vdi) => {
      const file = join(dir, `r${n++}.raw`);
      await runOk('nbdcopy', [await nbdUri(vdi), file], 120_000);
      const h = createHash('sha256').update(await readFile(file)).digest('hex');
      await rm(file, { force: true });
      return h;
    },
    close: async () => {
      api.close();
      await pool.stop();
      for (const s of sims) await s.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
