/**
 * The PoolLink contract run by both links: the pool layer's (`src/pool/`, two `islet`
 * host servers in this process, the second joined to the first with `pool.join`, calls
 * between them over HTTPS with the pool credential) and the in-process one the action
 * tests use (`test/helpers/local-pool.ts`: another host's call runs that host's actions
 * with its own services). Taking the member offline stops its server, or cuts it off.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { XapiClient } from '../../src/client/xapi-client.js';
import { startHostServer, type RunningHost } from '../../src/main/host-server.js';
import { localPoolLinks } from './local-pool-link.js';
import { runPoolLinkContract } from './pool-link.contract.js';

const PASSWORD = 'pool-link-pw';

runPoolLinkContract('pool layer (two islet hosts joined over HTTPS)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'islet-pool-link-hosts-'));
  const started: RunningHost[] = [];
  let memberStopped = false;
  const stop = async () => {
    for (const [i, h] of started.entries()) if (i === 0 || !memberStopped) await h.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const name of ['master', 'member']) {
      started.push(await startHostServer({
        dataDir: join(dir, name), host: '127.0.0.1', port: 0, rootPassword: PASSWORD, nbdListen: false, log: () => undefined,
      }));
    }
    const [master, member] = started as [RunningHost, RunningHost];
    const c = new XapiClient({ url: member.url });
    try {
      await c.login('root', PASSWORD);
      await c.call('pool.join', `127.0.0.1:${master.port}`, 'root', PASSWORD);
    } finally {
      await c.logout().catch(() => undefined);
      c.close();
    }
    return {
      hosts: [{ ref: master.hostRef, link: master.services.pool! }, { ref: member.hostRef, link: member.services.pool! }],
      // The hosts share an address and differ by port, so the port is part of it.
      masterAddress: `127.0.0.1:${master.port}`,
      putOnMaster: async (path, content) => {
        const at = join(dir, 'master', path);
        await mkdir(dirname(at), { recursive: true });
        await writeFile(at, content);
      },
      takeMemberOffline: async () => {
        memberStopped = true;
        await member.stop();
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
});

runPoolLinkContract('in-process pool of the action tests (test/helpers/local-pool.ts; no membership)', () => localPoolLinks(),
  { files: true, membership: false });
