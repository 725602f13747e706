/**
 * The UpdatesPort contract run by the port a host's composition root wires
 * (`src/main/updates-wiring.ts`, an `islet` host server in this process over its SQLite
 * database) and by the one the in-process pool of the action and update tests gives each
 * host (`test/helpers/local-pool.ts`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHostServer } from '../../src/main/host-server.js';
import { startLocalPool } from '../helpers/local-pool.js';
import { runUpdatesPortContract } from './updates-port.contract.js';

runUpdatesPortContract('islet host server (updates wiring)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'islet-updates-port-'));
  try {
    const host = await startHostServer({ dataDir: dir, host: '127.0.0.1', port: 0, rootPassword: 'updates-port-pw', nbdListen: false, log: () => undefined });
    return {
      port: host.services.updates!, db: host.services.db, hostRef: host.hostRef,
      stop: async () => {
        await host.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
});

runUpdatesPortContract('in-process pool of the action tests (test/helpers/local-pool.ts)', async () => {
  const lp = await startLocalPool({ hosts: 1 });
  const h = lp.hosts[0]!;
  return { port: h.services.updates!, db: lp.db, hostRef: h.ref, stop: () => lp.stop() };
});
