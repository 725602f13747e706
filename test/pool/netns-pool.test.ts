/**
 * A pool whose hosts are on different "machines": each host (toolstack and hypervisor
 * simulator) runs in its own network namespace with its own address on a private /24,
 * all on the same port, joined by address alone as XenServer hosts are. Cutting one
 * host's link makes the master mark it not live (and work on it fail with HOST_OFFLINE);
 * restoring the link brings it back. Skipped only where namespaces cannot be made (not
 * root), and never when CI is set.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XapiClient } from '../../src/client/xapi-client.js';
import { isXapiError } from '../../src/client/xapi-call-error.js';
import { spawnReady, stopChild, type ReadyChild } from '../../src/pool/supervisor/child-process.js';
import { waitFor } from '../helpers/islet-pool.js';
import { createNetnsLab, netnsUnavailable, type NetnsLab } from '../helpers/netns-lab.js';
import { repoRoot } from '../helpers/repo-root.js';
import { nodeArgsFor } from '../helpers/spawn-ts.js';

const PORT = 4443;
const PW = 'netns-pool-pw';
const why = await netnsUnavailable();
if (why && process.env.CI) throw new Error(`network namespaces are required on CI: ${why}`);

describe('a pool across network namespaces', { skip: why ? `cannot make network namespaces: ${why}` : false, timeout: 300_000 }, () => {
  let lab: NetnsLab;
  let dir: string;
  const procs: ReadyChild[] = [];
  let c: XapiClient;
  const refs: string[] = [];
  const env = { ...process.env, ISLET_HEARTBEAT_MS: '500', ISLET_LIVENESS_TIMEOUT_MS: '4000' };

  const live = async (i: number) => {
    const m = String(await c.call('host.get_metrics', refs[i]));
    return (await c.call('host_metrics.get_live', m)) === true;
  };

  before(async () => {
    lab = await createNetnsLab(3);
    dir = await mkdtemp(join(tmpdir(), 'islet-netns-'));
    for (let i = 0; i < 3; i++) {
      const hostDir = join(dir, `host${i}`);
      const addr = lab.hosts[i]!.address;
      const { mkdir } = await import('node:fs/promises');
      await mkdir(hostDir, { recursive: true });
      procs.push(await spawnReady({
        command: 'ip', label: `host${i} hypervisor`, env, logFile: join(hostDir, 'hypervisor.log'),
        args: lab.exec(i, [process.execPath, ...nodeArgsFor('sims/hypervisor/hypervisor-sim.ts'),
          '--state-dir', join(hostDir, 'hypervisor'), '--listen', `${addr}:0`, '--boot-time', (Date.now() / 1000).toFixed(3)]),
      }));
      procs.push(await spawnReady({
        command: 'ip', label: `host${i} toolstack`, logFile: join(hostDir, 'toolstack.log'),
        env: { ...env, ISLET_HOST_NAME: `nshost${i}` },
        args: lab.exec(i, [process.execPath, join(repoRoot(), 'bin', 'islet'), 'server', '--data-dir', hostDir,
          '--listen', `${addr}:${PORT}`, '--root-password', PW,
          '--hypervisor-state', join(hostDir, 'hypervisor'), '--spawn-hypervisor', 'false']),
      }));
    }
    // Members join the master by its address alone: the port is the one they serve on too.
    for (const i of [1, 2]) {
      const m = new XapiClient({ url: `https://${lab.hosts[i]!.address}:${PORT}` });
      try {
        await m.login('root', PW);
        await m.call('pool.join', lab.hosts[0]!.address, 'root', PW);
      } finally {
        m.close();
      }
    }
    c = new XapiClient({ url: `https://${lab.hosts[0]!.address}:${PORT}` });
    await c.login('root', PW);
    for (let i = 0; i < 3; i++) refs.push(((await c.call('host.get_by_name_label', `nshost${i}`)) as string[])[0]!);
  });

  after(async () => {
    c?.close();
    for (const p of procs.reverse()) await stopChild(p, 'SIGTERM', 3000).catch(() => undefined);
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('joins hosts by address: three live hosts, each known by its own address', async () => {
    const addrs = await Promise.all(refs.map(async (r) => String(await c.call('host.get_address', r))));
    assert.deepEqual(addrs, lab.hosts.map((h) => h.address));
    for (let i = 0; i < 3; i++) assert.ok(await live(i), `host${i} live`);
    const m = new XapiClient({ url: `https://${lab.hosts[1]!.address}:${PORT}` });
    try {
      await assert.rejects(m.rawCall('session.login_with_password', ['root', PW]), (e: unknown) => {
        assert.ok(isXapiError(e, 'HOST_IS_SLAVE'));
        assert.equal(e.params[0], lab.hosts[0]!.address, 'same port: the bare address, as xapi');
        return true;
      });
    } finally {
      m.close();
    }
  });

  it('a host cut off the network is marked not live and is offline for work; it comes back when reconnected', async () => {
    await lab.cut(2);
    try {
      await waitFor(async () => !(await live(2)), 30_000, 'host2 not live');
      assert.ok(await live(1), 'the other member stays live');
      await assert.rejects(c.call('host.restart_agent', refs[2]), (e: unknown) => isXapiError(e, 'HOST_OFFLINE'));
    } finally {
      await lab.reconnect(2);
    }
    await waitFor(() => live(2), 30_000, 'host2 live again');
  });
});
