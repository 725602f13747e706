/**
 * Changing a pool's membership through xe and the XenAPI, on a real three-host pool: an
 * orderly handover of the master role, the emergency takeover when the master is dead
 * (and pulling the other hosts over with recover_slaves), ejecting a member (it starts
 * over as a pool of its own) and joining it back with `xe pool-join`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { XapiClient } from '../../src/client/xapi-client.js';
import { isXapiError } from '../../src/client/xapi-call-error.js';
import { startPool, waitFor, type IsletPool } from '../helpers/islet-pool.js';
import { repoRoot } from '../helpers/repo-root.js';

const run = promisify(execFile);

describe('pool membership', { timeout: 600_000 }, () => {
  let pool: IsletPool;
  const refs: string[] = [];
  const uuids: string[] = [];

  const xe = (i: number, ...args: string[]) => run(process.execPath, [
    join(repoRoot(), 'bin', 'xe'), '-s', '127.0.0.1', '-p', String(pool.hosts[i]!.port), '-u', 'root', '-pw', pool.rootPassword, ...args,
  ], { timeout: 120_000 });
  /** Which host index the pool's master is, asking host `via` (following HOST_IS_SLAVE). */
  const masterIndex = async (via = 0) => {
    const c = await pool.client(via);
    try {
      const p = ((await c.call('pool.get_all')) as string[])[0]!;
      return refs.indexOf(String(await c.call('pool.get_master', p)));
    } finally {
      c.close();
    }
  };
  const liveHosts = async (c: XapiClient) => {
    const out: string[] = [];
    for (const h of (await c.call('host.get_all')) as string[]) {
      if ((await c.call('host_metrics.get_live', await c.call('host.get_metrics', h))) === true) out.push(h);
    }
    return out.sort();
  };
  const localSession = async (i: number) => {
    const c = new XapiClient({ url: pool.hosts[i]!.url });
    c.useSession(String(await c.rawCall('session.slave_local_login_with_password', ['root', pool.rootPassword])));
    return c;
  };

  before(async () => {
    pool = await startPool({ hosts: 3 });
    for (let i = 0; i < 3; i++) refs.push(await pool.hostRef(i));
    const c = await pool.client();
    for (const r of refs) uuids.push(String(await c.call('host.get_uuid', r)));
    c.close();
  });
  after(async () => {
    await pool?.stop();
  });

  it('a call the master runs on a member returns once the master holds what it wrote (PBD.unplug, PBD.plug)', async () => {
    // A member writes to its replica and forwards the writes to the master; answering the
    // master before they arrived let a caller read the old state (SR.destroy after
    // unplugging every PBD failed with SR_HAS_PBD now and then).
    const c = await pool.client();
    try {
      const p = ((await c.call('pool.get_all')) as string[])[0]!;
      const sr = String(await c.call('pool.get_default_SR', p));
      const pbds = (await c.call('SR.get_PBDs', sr)) as string[];
      const onMembers: string[] = [];
      for (const pbd of pbds) if ((await c.call('PBD.get_host', pbd)) !== refs[0]) onMembers.push(pbd);
      assert.equal(onMembers.length, 2, 'the shared SR has a PBD on each member');
      for (let round = 0; round < 10; round++) {
        for (const pbd of onMembers) {
          await c.call('PBD.unplug', pbd);
          assert.equal(await c.call('PBD.get_currently_attached', pbd), false, `round ${round}: unplugged, the master says attached`);
          await c.call('PBD.plug', pbd);
          assert.equal(await c.call('PBD.get_currently_attached', pbd), true, `round ${round}: plugged, the master says detached`);
        }
      }
    } finally {
      c.close();
    }
  });

  it('xe pool-designate-new-master hands the role over; the old master becomes a member', async () => {
    await xe(0, 'pool-designate-new-master', `host-uuid=${uuids[1]}`);
    assert.equal(await masterIndex(0), 1);
    const old = new XapiClient({ url: pool.hosts[0]!.url });
    try {
      await assert.rejects(old.rawCall('session.login_with_password', ['root', pool.rootPassword]), (e: unknown) => {
        assert.ok(isXapiError(e, 'HOST_IS_SLAVE'));
        assert.equal(e.params[0], `127.0.0.1:${pool.hosts[1]!.port}`);
        return true;
      });
    } finally {
      old.close();
    }
    const c = await pool.client(1);
    try {
      await waitFor(async () => (await liveHosts(c)).length === 3, 30_000, 'three live hosts under the new master');
      // Every member replicates from the new master.
      const p = ((await c.call('pool.get_all')) as string[])[0]!;
      await c.call('pool.set_name_label', p, 'after handover');
      for (const i of [0, 2]) {
        const l = await localSession(i);
        try {
          await waitFor(async () => (await l.call('pool.get_name_label', p)) === 'after handover', 15_000, `replica on host${i}`);
        } finally {
          l.close();
        }
      }
    } finally {
      c.close();
    }
  });

  it('with the master dead, a member takes over (emergency transition) and recover_slaves brings the others', async () => {
    await pool.kill9Host(1);
    await xe(2, 'pool-emergency-transition-to-master');
    assert.equal(await masterIndex(2), 2);
    const c = await pool.client(2);
    try {
      const { stdout } = await xe(2, 'pool-recover-slaves');
      assert.deepEqual(stdout.trim().split('\n'), [uuids[0]]);
      await waitFor(async () => (await liveHosts(c)).includes(refs[0]!), 30_000, 'host0 under the new master');
      // The old master comes back believing it is master; recover_slaves sets it right.
      await pool.startHost(1);
      const recovered = (await c.callAsync('pool.recover_slaves')) as string[];
      assert.ok(recovered.includes(refs[1]!), `recovered ${recovered}`);
      await waitFor(async () => (await liveHosts(c)).length === 3, 30_000, 'three live hosts');
      assert.equal(await masterIndex(1), 2);
    } finally {
      c.close();
    }
  });

  it('xe pool-eject makes a member start over as a pool of its own; xe pool-join brings it back', async () => {
    await xe(2, 'pool-eject', `host-uuid=${uuids[0]}`, '--force');
    const c = await pool.client(2);
    try {
      assert.deepEqual(((await c.call('host.get_all')) as string[]).sort(), [refs[1]!, refs[2]!].sort());
      // The ejected host restarts its toolstack as the master of a new pool of one.
      const alone = await waitFor(async () => {
        const x = new XapiClient({ url: pool.hosts[0]!.url });
        try {
          await x.login('root', pool.rootPassword);
          const hosts = (await x.call('host.get_all')) as string[];
          return x.url === new URL(pool.hosts[0]!.url).origin && hosts.length === 1 ? hosts[0] : undefined;
        } finally {
          x.close();
        }
      }, 60_000, 'host0 alone');
      assert.notEqual(alone, refs[0], 'a fresh host record');
      await xe(0, 'pool-join', `master-address=127.0.0.1:${pool.hosts[2]!.port}`, 'master-username=root', `master-password=${pool.rootPassword}`);
      await waitFor(async () => (await liveHosts(c)).length === 3, 30_000, 'host0 back in the pool');
    } finally {
      c.close();
    }
  });
});
