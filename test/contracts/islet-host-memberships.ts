/**
 * @module
 * The PoolMembership contract's fixture: two `islet` host servers in this process, each a
 * pool of its own, reached over HTTPS on their own ports; their process-level requests
 * (restart the toolstack after an eject) are recorded instead of acted on. `wrap` changes
 * each host's membership as the contract sees it (a deliberately broken one, to show the
 * contract can fail).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LifecycleAction, PoolMembership } from '../../src/core/ports/pool-membership.js';
import { startHostServer, type RunningHost } from '../../src/main/host-server.js';
import type { MembershipHost, PoolMembershipFixture } from './pool-membership.contract.js';

const PASSWORD = 'pool-membership-pw';

export async function isletHostMemberships(wrap: (m: PoolMembership) => PoolMembership = (m) => m): Promise<PoolMembershipFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'islet-pool-membership-'));
  const started: RunningHost[] = [];
  const stop = async () => {
    for (const h of started) await h.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const hosts: MembershipHost[] = [];
    for (const name of ['first', 'second']) {
      const requests: LifecycleAction[] = [];
      const h = await startHostServer({
        dataDir: join(dir, name), host: '127.0.0.1', port: 0, rootPassword: PASSWORD, nbdListen: false, log: () => undefined,
        lifecycle: { supervised: true, request: async (action) => { requests.push(action); } },
      });
      started.push(h);
      const membership = h.services.pool?.membership;
      if (!membership) throw new Error(`host ${name} has no pool membership wired`);
      hosts.push({ ref: h.hostRef, membership: wrap(membership), db: h.services.db, address: `127.0.0.1:${h.port}`, lifecycleRequests: requests });
    }
    return { hosts: [hosts[0]!, hosts[1]!], user: 'root', password: PASSWORD, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
