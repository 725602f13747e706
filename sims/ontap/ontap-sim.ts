/**
 * @module
 * The ONTAP simulator as a whole: the array (state + copy-on-write store), its REST API
 * over HTTPS, and its iSCSI target, whose LUN table and ACLs follow the igroups and LUN
 * maps. `islet sim ontap --listen 127.0.0.1:PORT --iscsi 127.0.0.1:PORT --username U
 * --password P --aggregate NAME:SIZE [--aggregate …] [--data-dir DIR]` prints
 * `ready https://ADDR:PORT` once it serves, then the certificate's SHA-256 fingerprint.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ArrayLunView } from '../array-store/array-store.js';
import { OntapArray } from './ontap-array.js';
import { targetIqn } from './ontap-records.js';
import { OntapRestServer } from './ontap-rest-server.js';
import { sanExport } from './ontap-san.js';

/** What the simulator needs of an iSCSI target (the shape of `sims/iscsi`'s target). */
export interface SimIscsiTarget {
  listen(host: string, port: number): Promise<{ address: string; port: number }>;
  setLun(lun: number, store: ArrayLunView): void;
  removeLun(lun: number): void;
  setAcl(initiatorIqn: string, luns: readonly number[]): void;
  close(): Promise<void>;
}

export type MakeIscsiTarget = (targetIqn: string, log?: (m: string) => void) => SimIscsiTarget;

export interface OntapSimOptions {
  readonly listen: { host: string; port: number };
  readonly iscsi?: { host: string; port: number };
  readonly username: string;
  readonly password: string;
  readonly aggregates: readonly { name: string; size: number }[];
  readonly dataDir: string;
  readonly makeTarget?: MakeIscsiTarget;
  readonly jobStartDelayMs?: number;
  readonly log?: (m: string) => void;
}

export interface OntapSim {
  readonly url: string;
  readonly fingerprint: string;
  readonly iscsi?: { address: string; port: number; targetIqn: string };
  readonly array: OntapArray;
  readonly rest: OntapRestServer;
  close(): Promise<void>;
}

/** Starts the array; a start that fails part-way closes what it had opened, so nothing is left listening. */
export async function startOntapSim(o: OntapSimOptions): Promise<OntapSim> {
  const array = await OntapArray.open(o.dataDir, o.aggregates);
  const opened: Array<() => Promise<void>> = [() => array.close()];
  try {
    let iscsi: { address: string; port: number; targetIqn: string } | undefined;
    let target: SimIscsiTarget | undefined;
    if (o.iscsi && o.makeTarget) {
      const iqn = targetIqn(array);
      target = o.makeTarget(iqn, o.log);
      opened.push(() => target!.close());
      const at = await target.listen(o.iscsi.host, o.iscsi.port);
      iscsi = { ...at, targetIqn: iqn };
      const served = new Map<number, string>();
      const acls = new Set<string>();
      const sync = (): void => {
        const exp = sanExport(array);
        for (const [n, lunUuid] of served) {
          if (exp.luns.get(n)?.lun.uuid !== lunUuid) {
            target!.removeLun(n);
            served.delete(n);
          }
        }
        for (const [n, { lun, view }] of exp.luns) {
          if (served.get(n) !== lun.uuid) {
            target!.setLun(n, view);
            served.set(n, lun.uuid);
          }
        }
        for (const iqn of acls) if (!exp.acl.has(iqn)) target!.setAcl(iqn, []);
        acls.clear();
        for (const [iqn, luns] of exp.acl) {
          target!.setAcl(iqn, luns);
          acls.add(iqn);
        }
      };
      array.onSanChange(sync);
      sync();
    }
    const rest = new OntapRestServer(array, {
      username: o.username, password: o.password, iscsi: () => iscsi,
      ...(o.jobStartDelayMs !== undefined ? { jobStartDelayMs: o.jobStartDelayMs } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
    opened.push(() => rest.close());
    const at = await rest.listen(o.listen.host, o.listen.port);
    const host = at.address.includes(':') ? `[${at.address}]` : at.address;
    return {
      url: `https://${host}:${at.port}`,
      fingerprint: rest.fingerprint,
      ...(iscsi ? { iscsi } : {}),
      array,
      rest,
      close: async () => {
        await rest.close();
        await target?.close();
        await array.close();
      },
    };
  } catch (e) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw e;
  }
}

export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGTP])?(i?B)?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${JSON.stringify(s)}`);
  const exp = m[2] ? ' KMGTP'.indexOf(m[2].toUpperCase()) : 0;
  return Math.round(Number(m[1]) * 1024 ** exp);
}

function hostPort(s: string, flag: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(s);
  if (!m) throw new Error(`--${flag} wants ADDR:PORT`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export function parseOntapSimArgs(argv: string[]): Omit<OntapSimOptions, 'dataDir' | 'makeTarget'> & { dataDir?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:0' },
      iscsi: { type: 'string' },
      username: { type: 'string', default: 'admin' },
      password: { type: 'string' },
      aggregate: { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
    },
    strict: true,
  });
  if (values.password === undefined) throw new Error('--password is required');
  const aggregates = (values.aggregate ?? []).map((a) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*):(.+)$/.exec(a);
    if (!m) throw new Error(`--aggregate wants NAME:SIZE, got ${JSON.stringify(a)}`);
    return { name: m[1]!, size: parseSize(m[2]!) };
  });
  if (aggregates.length === 0 && values['data-dir'] === undefined) throw new Error('at least one --aggregate NAME:SIZE is required');
  return {
    listen: hostPort(values.listen!, 'listen'),
    ...(values.iscsi ? { iscsi: hostPort(values.iscsi, 'iscsi') } : {}),
    username: values.username!,
    password: values.password,
    aggregates,
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  };
}

/** `islet sim ontap …`: runs until SIGTERM/SIGINT. */
export async function runOntapSim(argv: string[], makeTarget?: MakeIscsiTarget): Promise<void> {
  const args = parseOntapSimArgs(argv);
  // Without --data-dir the array lives in a directory of its own making, which can grow to
  // gigabytes (often on a tmpfs): it goes when the simulator stops, however it stops.
  const temporary = args.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'islet-ontap-')) : undefined;
  const dataDir = args.dataDir ?? temporary!;
  if (temporary) process.once('exit', () => rmSync(temporary, { recursive: true, force: true }));
  let sim: OntapSim;
  try {
    sim = await startOntapSim({ ...args, dataDir, ...(makeTarget ? { makeTarget } : {}) });
  } catch (e) {
    if (temporary) await rm(temporary, { recursive: true, force: true });
    throw e;
  }
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      await sim.close();
    } finally {
      if (temporary) await rm(temporary, { recursive: true, force: true });
      process.exit(0);
    }
  };
  // The handlers come before the ready line: a parent may signal as soon as it reads that line,
  // and a simulator preempted between the two would die of the signal with its array left behind.
  // They stay installed while it stops: a second signal (a parent's stop called twice) would
  // otherwise meet the default action half-way through the cleanup.
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdout.write(`ready ${sim.url}\n${sim.fingerprint}\n`);
  if (sim.iscsi) process.stderr.write(`iscsi ${sim.iscsi.address}:${sim.iscsi.port} ${sim.iscsi.targetIqn}\n`);
}
