/**
 * @module
 * Deliberately broken adapters, one per contract suite in this folder, run only when
 * `contracts-can-fail.test.ts` starts this file with `ISLET_CONTRACT_SELF_CHECK` naming a
 * suite (imported any other way it defines nothing): each must make its suite fail, which
 * shows the suite can.
 */
import { rm, writeFile } from 'node:fs/promises';
import { ApiError } from '../../src/core/api-error.js';
import type { BlockDevice } from '../../src/core/ports/block-device.js';
import type { PoolLink } from '../../src/core/ports/pool-link.js';
import { FileSrDriver } from '../../src/storage/file/file-sr-driver.js';
import { makeTempDir } from '../storage/file/file-sr-helpers.js';
import { runNbdExportContract } from './nbd-export.contract.js';
import { srNbdExports } from './sr-nbd-exports.js';
import { localPoolLinks } from './local-pool-link.js';
import { runPoolLinkContract } from './pool-link.contract.js';
import { isletHostMemberships } from './islet-host-memberships.js';
import { runPoolMembershipContract } from './pool-membership.contract.js';
import { sqliteUpdateStore } from './sqlite-update-store.js';
import { runUpdateStoreContract } from './update-store.contract.js';
import { runUpdatesPortContract } from './updates-port.contract.js';
import { startLocalPool } from '../helpers/local-pool.js';

/** `dev` with `name` replaced: every other member still reaches the real device. */
export function overriding<T extends object>(dev: T, name: string, replacement: unknown): T {
  return new Proxy(dev, {
    get(target, p) {
      if (p === name) return replacement;
      const v = Reflect.get(target, p, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The broken adapter of each suite, by the name the self-check passes. */
export const brokenAdapters: Record<string, () => void> = {
  'nbd-export': () => runNbdExportContract('file SR whose NBD writes are acknowledged and dropped', async (content) => {
    const dir = await makeTempDir();
    return srNbdExports({ driver: new FileSrDriver(), deviceConfig: { path: dir }, cleanup: () => rm(dir, { recursive: true, force: true }) }, content, {
      wrapDevice: (dev: BlockDevice) => overriding(dev, 'write', async () => undefined),
    });
  }),
  'pool-link': () => runPoolLinkContract('link that reports another host\'s failures as INTERNAL_ERROR', () => localPoolLinks((link, self) => ({
    isMaster: () => link.isMaster(),
    masterAddress: () => link.masterAddress(),
    ...(link.fetchFromMaster ? { fetchFromMaster: link.fetchFromMaster.bind(link) } : {}),
    callOnHost: async (host, method, params, opts) => {
      try {
        return await link.callOnHost(host, method, params, opts);
      } catch (e) {
        if (host === self || !(e instanceof ApiError)) throw e;
        throw new ApiError('INTERNAL_ERROR', [e.message]);
      }
    },
  } satisfies PoolLink))),
  'pool-membership': () => runPoolMembershipContract('membership whose change polls ignore their toolstack stopping', () => isletHostMemberships(
    (m) => overriding(m, 'dbChanges', (since: number, timeoutMs: number, from?: string) => m.dbChanges(since, timeoutMs, from)))),
  'updates-port': () => runUpdatesPortContract('port whose internal sessions outlive close()', async () => {
    const lp = await startLocalPool({ hosts: 1 });
    const h = lp.hosts[0]!;
    const port = h.services.updates!;
    return {
      port: overriding(port, 'internalSession', () => ({ ...port.internalSession(), close: () => undefined })),
      db: lp.db, hostRef: h.ref, stop: () => lp.stop(),
    };
  }),
  'update-store': () => runUpdateStoreContract('update store that leaves refused files behind', async (key) => {
    const f = await sqliteUpdateStore(key);
    const accept = f.store.accept.bind(f.store);
    return {
      ...f,
      store: {
        ...f.store,
        storedPath: f.store.storedPath,
        accept: async (path: string, size: number) => {
          try {
            return await accept(path, size);
          } catch (e) {
            await writeFile(path, 'left behind');
            throw e;
          }
        },
      },
    };
  }),
};

const chosen = process.env.ISLET_CONTRACT_SELF_CHECK;
if (chosen) {
  const run = brokenAdapters[chosen];
  if (!run) throw new Error(`no broken adapter for ${chosen}`);
  run();
}
