/**
 * @module
 * The PoolLink contract's fixture for the in-process pool of the action tests
 * (`test/helpers/local-pool.ts`): two hosts over real hypervisor simulator processes, the
 * first the master; `wrapLink` changes each host's link (a deliberately broken one, to
 * show the contract can fail).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PoolLink } from '../../src/core/ports/pool-link.js';
import type { Ref } from '../../src/core/ref.js';
import { startLocalPool } from '../helpers/local-pool.js';
import type { PoolLinkFixture } from './pool-link.contract.js';

export async function localPoolLinks(wrapLink: (link: PoolLink, self: Ref<'host'>) => PoolLink = (l) => l): Promise<PoolLinkFixture> {
  const lp = await startLocalPool({ hosts: 2 });
  const [a, b] = lp.hosts as [typeof lp.hosts[0], typeof lp.hosts[0]];
  return {
    hosts: [{ ref: a.ref, link: wrapLink(a.services.pool!, a.ref) }, { ref: b.ref, link: wrapLink(b.services.pool!, b.ref) }],
    masterAddress: '127.0.0.1',
    putOnMaster: async (path, content) => {
      const at = join(a.services.dataDir, path);
      await mkdir(dirname(at), { recursive: true });
      await writeFile(at, content);
    },
    takeMemberOffline: async () => lp.setOffline(1, true),
    stop: () => lp.stop(),
  };
}
