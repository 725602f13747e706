/**
 * `islet pool up` end to end: three hosts as real processes (a toolstack and a hypervisor
 * simulator each) joined into one pool with a shared SR; members send clients to the
 * master and keep a replica of its database; a member's figures (data sources, its own and
 * its VMs') are answered by the member through the master; a toolstack restart, a reboot, a crashed
 * toolstack, a crashed member and a crashed master each do what they do on XenServer.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { XapiClient } from '../../src/client/xapi-client.js';
import { completeRecord } from '../../src/client/create-record.js';
import { isXapiError } from '../../src/client/xapi-call-error.js';
import { PoolLinkImpl } from '../../src/pool/pool-link-impl.js';
import type { PoolNode } from '../../src/pool/pool-node.js';
import { startPool, waitFor, type IsletPool } from '../helpers/islet-pool.js';
import { repoRoot } from '../helpers/repo-root.js';

const run = promisify(execFile);

describe('islet pool up', { timeout: 600_000 }, () => {
  let pool: IsletPool;
  let c: XapiClient;
  const refs: string[] = [];

  const otherConfig = async (i: number) => (await c.call('host.get_other_config', refs[i])) as Record<string, string>;
  const live = async (i: number) => {
    const m = String(await c.call('host.get_metrics', refs[i]));
    return (await c.call('host_metrics.get_live', m)) === true;
  };
  /** A client on the master that survives the master's restarts. */
  const relogin = async () => {
    c?.close();
    c = await waitFor(async () => pool.client(), 60_000, 'a login on the master');
  };

  before(async () => {
    pool = await startPool({ hosts: 3 });
    c = await pool.client();
    for (let i = 0; i < 3; i++) refs.push(await pool.hostRef(i));
  });
  after(async () => {
    c?.close();
    await pool?.stop();
  });

  it('comes up as one pool of three live hosts with a shared default SR', async () => {
    const hosts = (await c.call('host.get_all')) as string[];
    assert.equal(hosts.length, 3);
    const poolRef = ((await c.call('pool.get_all')) as string[])[0]!;
    assert.equal(await c.call('pool.get_master', poolRef), refs[0]);
    for (let i = 0; i < 3; i++) assert.ok(await live(i), `host${i} is live`);
    assert.match(pool.stdout(), /^ready host0 /m);
    assert.match(pool.stdout(), /^ready host2 /m);
    const sr = String(await c.call('pool.get_default_SR', poolRef));
    assert.notEqual(sr, 'OpaqueRef:NULL', `no default SR: ${pool.stderr()}`);
    assert.equal(await c.call('SR.get_shared', sr), true);
    const pbds = (await c.call('SR.get_PBDs', sr)) as string[];
    const byHost = new Set<string>();
    for (const p of pbds) {
      byHost.add(String(await c.call('PBD.get_host', p)));
      assert.equal(await c.call('PBD.get_currently_attached', p), true);
    }
    assert.deepEqual([...byHost].sort(), [...refs].sort());
    const st = await pool.status();
    assert.ok(st.hosts.every((h) => h.state === 'up' && h.toolstackPid && h.hypervisorPid));
  });

  it('members answer HOST_IS_SLAVE with the master\'s address, and clients follow it', async () => {
    const member = new XapiClient({ url: pool.hosts[1]!.url });
    try {
      await assert.rejects(member.rawCall('session.login_with_password', ['root', pool.rootPassword]), (e: unknown) => {
        assert.ok(isXapiError(e, 'HOST_IS_SLAVE'));
        assert.equal(e.params[0], `127.0.0.1:${pool.hosts[0]!.port}`);
        return true;
      });
      await member.login('root', pool.rootPassword);
      assert.equal(member.url, new URL(pool.masterUrl).origin);
    } finally {
      member.close();
    }
    const xe = join(repoRoot(), 'bin', 'xe');
    const { stdout } = await run(process.execPath, [xe, '-s', '127.0.0.1', '-p', String(pool.hosts[2]!.port), '-u', 'root', '-pw', pool.rootPassword, '--nossl', 'host-list', '--minimal']);
    assert.equal(stdout.trim().split(',').length, 3);
  });

  it('members keep a replica of the master\'s database', async () => {
    const poolRef = ((await c.call('pool.get_all')) as string[])[0]!;
    const label = `replicated-${Date.now()}`;
    await c.call('pool.set_name_label', poolRef, label);
    const member = new XapiClient({ url: pool.hosts[2]!.url });
    try {
      const s = String(await member.rawCall('session.slave_local_login_with_password', ['root', pool.rootPassword]));
      await waitFor(async () => (await member.rawCall('pool.get_name_label', [s, poolRef])) === label, 60_000, 'the change on the member');
      // A local session on a member reads; it is not a way around the master for writes elsewhere.
      assert.equal(await member.rawCall('session.get_this_host', [s, s]), refs[2]);
    } finally {
      member.close();
    }
  });

  it('a member answers, through the master, for its own data sources and those of the VMs it runs', async () => {
    // Each host samples its own local SR: the member's list has its SR's columns, not the master's.
    const localSr8 = async (i: number) => {
      for (const pbd of (await c.call('host.get_PBDs', refs[i])) as string[]) {
        const sr = String(await c.call('PBD.get_SR', pbd));
        if (await c.call('SR.get_name_label', sr) === 'Local storage') return String(await c.call('SR.get_uuid', sr)).slice(0, 8);
      }
      throw new Error(`host${i} has no local SR`);
    };
    const [mine, theirs] = [await localSr8(1), await localSr8(0)];
    const names = await waitFor(async () => {
      const n = ((await c.call('host.get_data_sources', refs[1])) as Array<{ name_label: string }>).map((d) => d.name_label);
      return n.includes(`write_${mine}`) ? n : undefined;
    }, 30_000, 'the member\'s SR figures');
    assert.ok(!names.includes(`write_${theirs}`), 'the master\'s local SR is not among the member\'s figures');

    const vm = String(await c.call('VM.create', completeRecord('VM', {
      name_label: 'figures-on-member', memory_static_max: 64 * 2 ** 20, memory_dynamic_max: 64 * 2 ** 20, memory_dynamic_min: 64 * 2 ** 20,
      memory_static_min: 64 * 2 ** 20, VCPUs_max: 1, VCPUs_at_startup: 1,
    })));
    try {
      await c.call('VM.start_on', vm, refs[1], false, false);
      // Only the member samples the VM: the master has no figures of its own for it.
      await waitFor(async () => ((await c.call('VM.get_data_sources', vm)) as Array<{ name_label: string }>).some((d) => d.name_label === 'memory') || undefined,
        30_000, 'the VM\'s figures from the member');
      assert.equal(await c.call('VM.query_data_source', vm, 'memory'), 64 * 2 ** 20);
    } finally {
      await c.call('VM.hard_shutdown', vm).catch(() => undefined);
      await c.call('VM.destroy', vm);
    }
  });

  it('xe-toolstack-restart restarts only the toolstack: agent_start_time grows, boot_time does not', async () => {
    const before = await otherConfig(1);
    const st = await pool.hostStatus(1);
    const tool = join(repoRoot(), 'bin', 'xe-toolstack-restart');
    const { stdout } = await run(process.execPath, [tool, '--data-dir', pool.hosts[1]!.dataDir], { timeout: 120_000 });
    assert.match(stdout, /done\./);
    const after = await waitFor(async () => {
      const oc = await otherConfig(1);
      return Number(oc.agent_start_time) > Number(before.agent_start_time) ? oc : undefined;
    }, 20_000, 'a later agent_start_time');
    assert.equal(after.boot_time, before.boot_time);
    const st2 = await pool.hostStatus(1);
    assert.notEqual(st2.toolstackPid, st.toolstackPid);
    assert.equal(st2.hypervisorPid, st.hypervisorPid, 'the hypervisor process lives on');
    await waitFor(() => live(1), 20_000, 'host1 live');
  });

  it('host.restart_agent through the master invalidates the host\'s sessions', async () => {
    const member = new XapiClient({ url: pool.hosts[2]!.url });
    try {
      const s = String(await member.rawCall('session.slave_local_login_with_password', ['root', pool.rootPassword]));
      const before = await otherConfig(2);
      await c.call('host.restart_agent', refs[2]);
      await waitFor(async () => Number((await otherConfig(2)).agent_start_time) > Number(before.agent_start_time), 30_000, 'the restart');
      await waitFor(async () => {
        try {
          await member.rawCall('session.get_this_host', [s, s]);
          return false;
        } catch (e) {
          return isXapiError(e, 'SESSION_INVALID');
        }
      }, 20_000, 'SESSION_INVALID from the restarted toolstack');
    } finally {
      member.close();
    }
  });

  it('a member is rebooted (disable, host.reboot): both processes restart, it comes back live and enabled with a later boot_time', async () => {
    await assert.rejects(c.call('host.reboot', refs[1]), (e: unknown) => isXapiError(e, 'HOST_NOT_DISABLED'));
    const before = await otherConfig(1);
    const st = await pool.hostStatus(1);
    await c.call('host.disable', refs[1]);
    await c.callAsync('host.reboot', refs[1]);
    const after = await waitFor(async () => {
      const oc = await otherConfig(1);
      return Number(oc.boot_time) > Number(before.boot_time) ? oc : undefined;
    }, 60_000, 'a later boot_time');
    assert.ok(Number(after.agent_start_time) > Number(before.agent_start_time));
    const st2 = await pool.hostStatus(1);
    assert.notEqual(st2.hypervisorPid, st.hypervisorPid, 'a new hypervisor process');
    assert.notEqual(st2.toolstackPid, st.toolstackPid, 'a new toolstack process');
    assert.ok(st2.bootTime! > st.bootTime!);
    await waitFor(() => live(1), 30_000, 'host1 live again');
    await c.call('host.enable', refs[1]);
    assert.equal(await c.call('host.get_enabled', refs[1]), true);
  });

  it('a member\'s toolstack killed with SIGKILL is started again by the supervisor\'s watchdog', async () => {
    const st = await pool.hostStatus(2);
    await pool.kill9Toolstack(2);
    const st2 = await waitFor(async () => {
      const s = await pool.hostStatus(2);
      return s.toolstackPid && s.toolstackPid !== st.toolstackPid ? s : undefined;
    }, 30_000, 'the watchdog restart');
    assert.equal(st2.hypervisorPid, st.hypervisorPid);
    assert.equal(st2.toolstackStarts, st.toolstackStarts + 1);
  });

  it('a crashed member (SIGKILL of both processes) is not live within 30 s, work on it fails with HOST_OFFLINE, and it rejoins', async () => {
    const killedAt = Date.now();
    await pool.kill9Host(2);
    await waitFor(async () => !(await live(2)), 30_000, 'host2 not live');
    assert.ok(Date.now() - killedAt < 30_000);
    assert.ok(await live(1), 'the other member stays live');
    await assert.rejects(c.call('host.restart_agent', refs[2]), (e: unknown) => {
      assert.ok(isXapiError(e, 'HOST_OFFLINE'), String(e));
      assert.equal(e.params[0], refs[2]);
      return true;
    });
    await pool.startHost(2);
    await waitFor(() => live(2), 30_000, 'host2 live again');
    await c.call('host.restart_agent', refs[2]);
  });

  it('host.shutdown of a disabled member stops both processes; started again, it is live with a later boot_time', async () => {
    const before = await otherConfig(2);
    // The previous test restarted host2's agent, which answers before it restarts: wait until it is back.
    await waitFor(() => c.call('host.disable', refs[2]).then(() => true, (e: unknown) => {
      if (isXapiError(e, 'HOST_OFFLINE')) return false;
      throw e;
    }), 60_000, 'host2 disabled once its agent is back');
    await c.call('host.shutdown', refs[2]);
    assert.equal(await live(2), false, 'marked not live at once');
    await waitFor(async () => {
      const s = await pool.hostStatus(2);
      return s.state === 'down' && !s.toolstackPid && !s.hypervisorPid;
    }, 30_000, 'host2 down');
    await pool.startHost(2);
    await waitFor(() => live(2), 30_000, 'host2 live');
    // The member reports its new boot time through replication, a moment after its first heartbeat.
    await waitFor(async () => Number((await otherConfig(2)).boot_time) > Number(before.boot_time), 30_000, 'a later boot_time');
    // A host comes back from a boot enabled; the member's own write reaches the master a moment later.
    await waitFor(async () => (await c.call('host.get_enabled', refs[2])) === true, 30_000, 'a host comes back from a boot enabled');
  });

  it('hosts fetch files from the master with their own credential', async () => {
    const cred = JSON.parse(readFileSync(join(pool.hosts[1]!.dataDir, 'pool-credential'), 'utf8')) as { hostUuid: string; token: string };
    writeFileSync(join(pool.hosts[0]!.dataDir, 'fetch-me.bin'), 'payload');
    const get = (path: string, uuid: string, token: string) => fetch(`${pool.masterUrl}/islet_pool_file?path=${encodeURIComponent(path)}`, {
      headers: { 'x-islet-host-uuid': uuid, 'x-islet-host-credential': token },
    });
    assert.equal(await (await get('fetch-me.bin', cred.hostUuid, cred.token)).text(), 'payload');
    assert.equal((await get('fetch-me.bin', cred.hostUuid, 'wrong')).status, 403);
    // A credential is bound to its host: under another host's uuid it opens nothing.
    const other = JSON.parse(readFileSync(join(pool.hosts[2]!.dataDir, 'pool-credential'), 'utf8')) as { hostUuid: string };
    assert.equal((await get('fetch-me.bin', other.hostUuid, cred.token)).status, 403);
    assert.equal((await get('../host1/pool-credential', cred.hostUuid, cred.token)).status, 400);
    assert.equal((await get('no-such-file', cred.hostUuid, cred.token)).status, 404);
    // The member side, as a member's toolstack runs it.
    const port = pool.hosts[0]!.port;
    const link = new PoolLinkImpl({ masterHostPort: () => ({ host: '127.0.0.1', port }), credential: cred } as unknown as PoolNode);
    const dest = join(pool.dir, 'fetched.bin');
    await link.fetchFromMaster('fetch-me.bin', dest);
    assert.equal(await readFile(dest, 'utf8'), 'payload');
    await rm(dest);
    await assert.rejects(link.fetchFromMaster('missing', dest));
  });

  it('a crashed master comes back with the pool intact and its members reconnect', async () => {
    const poolRef = ((await c.call('pool.get_all')) as string[])[0]!;
    await c.call('pool.set_name_description', poolRef, 'before the crash');
    await pool.kill9Host(0);
    await pool.startHost(0);
    await relogin();
    assert.equal(await c.call('pool.get_name_description', poolRef), 'before the crash');
    assert.equal(await c.call('pool.get_master', poolRef), refs[0]);
    assert.deepEqual(((await c.call('host.get_all')) as string[]).sort(), [...refs].sort());
    for (let i = 0; i < 3; i++) await waitFor(() => live(i), 30_000, `host${i} live after the master's restart`);
    // Members replicate from the restarted master again.
    await c.call('pool.set_name_description', poolRef, 'after the crash');
    const member = new XapiClient({ url: pool.hosts[1]!.url });
    try {
      const s = String(await member.rawCall('session.slave_local_login_with_password', ['root', pool.rootPassword]));
      await waitFor(async () => (await member.rawCall('pool.get_name_description', [s, poolRef])) === 'after the crash', 15_000, 'replication after the restart');
    } finally {
      member.close();
    }
  });
});
