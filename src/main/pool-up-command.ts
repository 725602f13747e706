/**
 * @module
 * The `islet pool up` command line: flags to a PoolSupervisor, one `ready host<i> <url>`
 * line per host and a final `pool ready <master url>` on stdout, and SIGTERM/SIGINT to
 * stop every process of the pool.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { POOL_STATE_FILE, PoolSupervisor } from '../pool/supervisor/pool-supervisor.js';

export const POOL_UP_USAGE =
  '  islet pool up --hosts N --data-dir DIR --base-port P [--root-password PW] [--migration-rate MIBS]\n' +
  '                [--memory SIZE] [--addresses A,B,…] [--update-key FILE]…\n' +
  '                (P=0: any free ports, kept across restarts; --update-key: keys trusted to sign updates, at first start)\n';

export async function poolUp(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      hosts: { type: 'string', default: '3' },
      'data-dir': { type: 'string' },
      'base-port': { type: 'string' },
      'root-password': { type: 'string' },
      'migration-rate': { type: 'string', default: '0' },
      memory: { type: 'string' },
      addresses: { type: 'string' },
      'update-key': { type: 'string', multiple: true },
    },
    strict: true,
  });
  const hosts = Number(values.hosts);
  if (!Number.isInteger(hosts) || hosts < 1) throw new Error('--hosts must be a positive integer');
  if (!values['data-dir']) throw new Error('pool up needs --data-dir');
  if (values['base-port'] === undefined) throw new Error('pool up needs --base-port (0 for any free ports)');
  const basePort = Number(values['base-port']);
  if (!Number.isInteger(basePort) || basePort < 0 || basePort + hosts > 65536) throw new Error('--base-port must be a port number');
  const rate = Number(values['migration-rate']);
  if (!Number.isFinite(rate) || rate < 0) throw new Error('--migration-rate must be a non-negative number (MiB/s; 0 = instant)');
  const addresses = values.addresses?.split(',').map((s) => s.trim()).filter(Boolean);
  // The hosts run elsewhere (their own working directory may differ): absolute paths. A bad key
  // file stops the first start before any host has made a pool without it.
  const updateKeys = (values['update-key'] ?? []).map((f) => resolve(f));
  if (updateKeys.length && !existsSync(join(values['data-dir'], POOL_STATE_FILE))) {
    await (await import('../updates/update-keys.js')).checkUpdateKeyFiles(updateKeys);
  }
  const sup = new PoolSupervisor({
    hosts, dataDir: resolve(values['data-dir']), basePort, migrationRate: rate,
    ...(values['root-password'] ? { rootPassword: values['root-password'] } : {}),
    ...(values.memory ? { memory: values.memory } : {}),
    ...(addresses && addresses.length > 0 ? { addresses } : {}),
    ...(updateKeys.length ? { updateKeys } : {}),
  });
  const stop = () => {
    void sup.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await sup.up();
  } catch (e) {
    await sup.stop();
    throw e;
  }
}
