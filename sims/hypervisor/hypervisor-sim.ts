/**
 * @module
 * The hypervisor simulator process: one per simulated host, holding that host's domains
 * as Xen does, so they survive a restart of the host's toolstack and end with the process
 * (a host reboot or crash). It keeps nothing about domains on disk; its state directory
 * holds only the shared secret the host's toolstack reads and the address it serves.
 *
 *   hypervisor-sim --state-dir DIR [--listen 127.0.0.1:PORT|unix:PATH] [--memory BYTES]
 *                  [--cpus N] [--migration-rate MIBS] [--boot-time EPOCH_S]
 *                  [--domain-overhead BYTES]
 *
 * Sizes take an optional K/M/G/T suffix (binary). Prints `ready <address>` once serving;
 * SIGTERM or SIGINT stops it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ADDRESS_FILE, SECRET_FILE, parseSimAddress } from '../../src/hypervisor/sim-protocol.js';
import { SimRpcServer } from './rpc-server.js';
import { SimHost } from './sim-host.js';

export interface SimArgs {
  readonly stateDir: string;
  readonly listen: string;
  readonly memory: number;
  readonly cpus: number;
  readonly migrationRateMiBs: number;
  readonly bootTime?: number;
  readonly overheadPerDomain: number;
}

/** `123`, `512M`, `16G`, `1T` → bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+)([KMGT])?(i?B)?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${JSON.stringify(s)}`);
  const exp = m[2] ? ' KMGT'.indexOf(m[2].toUpperCase()) : 0;
  return Number(m[1]) * 1024 ** exp;
}

function nonNegative(name: string, s: string): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
  return n;
}

export function parseSimArgs(argv: string[]): SimArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      'state-dir': { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:0' },
      memory: { type: 'string' },
      cpus: { type: 'string', default: '8' },
      'migration-rate': { type: 'string', default: '0' },
      'boot-time': { type: 'string' },
      'domain-overhead': { type: 'string', default: '8M' },
    },
    strict: true,
  });
  if (!values['state-dir']) throw new Error('--state-dir is required');
  const cpus = Number(values.cpus);
  if (!Number.isInteger(cpus) || cpus < 1) throw new Error('--cpus must be a positive integer');
  return {
    stateDir: resolve(values['state-dir']),
    listen: values.listen!,
    // Xen reports the machine's physical memory as the host's; so does the simulator unless told
    // to model a smaller host.
    memory: values.memory === undefined ? totalmem() : parseSize(values.memory),
    cpus,
    migrationRateMiBs: nonNegative('migration-rate', values['migration-rate']!),
    ...(values['boot-time'] !== undefined ? { bootTime: nonNegative('boot-time', values['boot-time']) } : {}),
    overheadPerDomain: parseSize(values['domain-overhead']!),
  };
}

/** The host's shared secret: made once, kept across reboots like a host key. */
async function loadOrCreateSecret(stateDir: string): Promise<string> {
  const file = join(stateDir, SECRET_FILE);
  try {
    await writeFile(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return (await readFile(file, 'utf8')).trim();
}

export async function main(argv: string[]): Promise<void> {
  const args = parseSimArgs(argv);
  await mkdir(args.stateDir, { recursive: true });
  const secret = await loadOrCreateSecret(args.stateDir);
  const host = new SimHost({
    memory: args.memory, cpus: args.cpus, overheadPerDomain: args.overheadPerDomain,
    migrationRateMiBs: args.migrationRateMiBs, ...(args.bootTime !== undefined ? { bootTime: args.bootTime } : {}),
  });
  const server = new SimRpcServer(host, secret);
  const addr = parseSimAddress(args.listen);
  // A socket file left by a previous (crashed) boot would make listen fail.
  if ('path' in addr) await rm(addr.path, { force: true });
  await server.listen(addr);
  const addressFile = join(args.stateDir, ADDRESS_FILE);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await host.close();
    await server.close();
    await rm(addressFile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  // The address file is what a toolstack waits for; it may connect and then signal this
  // process at once, so the handlers are in place first. It appears whole (written aside,
  // then renamed): a reader that saw an empty file would take the simulator for absent.
  const partial = `${addressFile}.${process.pid}`;
  await writeFile(partial, `${server.address}\n`);
  await rename(partial, addressFile);
  process.stdout.write(`ready ${server.address}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`hypervisor-sim: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
