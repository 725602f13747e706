/**
 * @module
 * What the tests of disk transfers sent to a pool member share: a 2-host pool of real
 * processes with its default (shared) SR, URLs on the member under a task the client made on
 * the master, Basic auth for them (sessions are each host's own), and what an unfinished
 * import could leave on that SR, as the master sees it.
 */
import { readdir } from 'node:fs/promises';
import type { XapiClient } from '../../src/client/xapi-client.js';
import { startPool, type IsletPool } from './islet-pool.js';

export interface MemberTransferPool {
  readonly pool: IsletPool;
  /** Logged in on the master. */
  readonly c: XapiClient;
  /** The pool's default SR, shared by both hosts. */
  readonly sr: string;
}

export async function startMemberTransferPool(): Promise<MemberTransferPool> {
  const pool = await startPool({ hosts: 2 });
  const c = await pool.client();
  const poolRef = ((await c.call('pool.get_all')) as string[])[0]!;
  return { pool, c, sr: String(await c.call('pool.get_default_SR', poolRef)) };
}

/** The `Authorization` header that logs in as root on any host of the pool. */
export function basicAuth(pool: IsletPool): string {
  return `Basic ${Buffer.from(`root:${pool.rootPassword}`).toString('base64')}`;
}

/** `path` on the member, with `task_id` (the master's task) and the other query fields. */
export function memberUrl(pool: IsletPool, path: string, task: string, q: Record<string, string>): URL {
  const url = new URL(path, pool.hosts[1]!.url);
  url.searchParams.set('task_id', task);
  for (const [k, v] of Object.entries(q)) url.searchParams.set(k, v);
  return url;
}

/** The directory of a file SR. */
export async function srPath(c: XapiClient, sr: string): Promise<string> {
  const pbd = ((await c.call('SR.get_PBDs', sr)) as string[])[0]!;
  return ((await c.call('PBD.get_device_config', pbd)) as Record<string, string>).path!;
}

/** What an unfinished import could leave: VDI records, `.vhd` files, import marks, the SR's figures. */
export interface SrState {
  readonly VDI: number;
  readonly files: string[];
  readonly marked: number;
  readonly physical_utilisation: unknown;
  readonly virtual_allocation: unknown;
}

export async function srState(c: XapiClient, sr: string): Promise<SrState> {
  const srRec = (await c.call('SR.get_record', sr)) as Record<string, unknown>;
  const records = Object.values((await c.call('VDI.get_all_records')) as Record<string, { other_config: Record<string, string> }>);
  return {
    VDI: records.length,
    files: (await readdir(await srPath(c, sr))).filter((n) => n.endsWith('.vhd')).sort(),
    marked: records.filter((r) => Object.keys(r.other_config).some((k) => k.startsWith('islet_import'))).length,
    physical_utilisation: srRec.physical_utilisation, virtual_allocation: srRec.virtual_allocation,
  };
}
