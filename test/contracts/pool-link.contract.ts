/**
 * @module
 * The contract of the PoolLink port, how a host reaches the rest of its pool: the roles
 * it reports, XenAPI calls run on a chosen host that answer the same (decoded results,
 * XenAPI errors with their codes and params) whether the host is this one or another,
 * and whoever asks; a host that does not exist is HANDLE_INVALID, one that cannot be
 * reached HOST_OFFLINE; files kept under the master's data directory fetched by a member;
 * and, where the link carries one, the membership's view of who is master. A test file
 * calls `runPoolLinkContract(name, make)` with a pool of two hosts, master first.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../src/core/api-error.js';
import { apiRefusal } from './api-refusal.js';
import type { PoolLink } from '../../src/core/ports/pool-link.js';
import type { Ref } from '../../src/core/ref.js';

export interface PoolLinkHost {
  readonly ref: Ref<'host'>;
  readonly link: PoolLink;
}

export interface PoolLinkFixture {
  /** The master, then a member. */
  readonly hosts: readonly [PoolLinkHost, PoolLinkHost];
  /** The master's address as the member reports it (HOST_IS_SLAVE's parameter: host, and port where it differs from the member's). */
  readonly masterAddress: string;
  /** Writes `content` at `path` under the master's data directory, where members fetch files from. */
  putOnMaster?(path: string, content: Buffer): Promise<void>;
  /** Makes the member unreachable (stopped, cut off); the contract's last test uses it. */
  takeMemberOffline(): Promise<void>;
  stop(): Promise<void>;
}

export type MakePoolLink = () => Promise<PoolLinkFixture>;

/**
 * What a link can show beyond the common contract. A check a link cannot support is left
 * out of its run at registration, never skipped at run time: a fixture that claims a
 * feature and lacks it fails.
 */
export interface PoolLinkFeatures {
  /** Members fetch files kept under the master's data directory. */
  readonly files: boolean;
  /** The link carries the pool membership (who is master). */
  readonly membership: boolean;
}

export function runPoolLinkContract(name: string, make: MakePoolLink,
  features: PoolLinkFeatures = { files: true, membership: true }): void {
  describe(`PoolLink contract: ${name}`, { timeout: 300_000 }, () => {
    let fx: PoolLinkFixture;
    let master: PoolLinkHost;
    let member: PoolLinkHost;
    let dir: string;

    before(async () => {
      fx = await make();
      [master, member] = fx.hosts;
      dir = await mkdtemp(join(tmpdir(), 'islet-pool-link-'));
    });
    after(async () => {
      await fx?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('the master says it is master, the member that it is not and where the master is', () => {
      assert.equal(master.link.isMaster(), true);
      assert.equal(member.link.isMaster(), false);
      assert.equal(member.link.masterAddress(), fx.masterAddress);
      // The master names itself as its clients reach it (without a port they already use).
      assert.ok(fx.masterAddress.startsWith(master.link.masterAddress()), `master says ${master.link.masterAddress()}`);
    });

    it('a call gives the same decoded answer on this host and on the other, from either side', async () => {
      for (const target of [master, member]) {
        const here = await (target === master ? master : member).link.callOnHost(target.ref, 'host.get_record', [target.ref]);
        const there = await (target === master ? member : master).link.callOnHost(target.ref, 'host.get_record', [target.ref]);
        assert.equal(typeof here, 'object');
        assert.deepEqual(there, here, `host.get_record of ${target.ref} differs by where it was asked`);
        assert.equal(typeof (here as Record<string, unknown>).name_label, 'string');
        assert.equal((here as Record<string, unknown>).uuid, await master.link.callOnHost(target.ref, 'host.get_uuid', [target.ref]));
      }
    });

    it('arguments arrive in order, and a write made through one host is read through the other', async () => {
      const key = `contract-${randomUUID()}`;
      await master.link.callOnHost(member.ref, 'host.add_to_other_config', [member.ref, key, 'v1']);
      const seen = await member.link.callOnHost(member.ref, 'host.get_other_config', [member.ref]) as Record<string, string>;
      assert.equal(seen[key], 'v1');
      await member.link.callOnHost(master.ref, 'host.remove_from_other_config', [member.ref, key]);
      const after = await master.link.callOnHost(master.ref, 'host.get_other_config', [member.ref]) as Record<string, string>;
      assert.equal(after[key], undefined);
    });

    it('a failure is the same XenAPI error, code and params, on this host and on the other', async () => {
      const bogus = `OpaqueRef:${randomUUID()}`;
      const local = await apiRefusal(member.link.callOnHost(member.ref, 'VM.get_record', [bogus]));
      const remote = await apiRefusal(master.link.callOnHost(member.ref, 'VM.get_record', [bogus]));
      assert.equal(local.code, 'HANDLE_INVALID');
      assert.deepEqual(remote.params, local.params);
      assert.equal(remote.code, local.code);
      const unknown = await apiRefusal(master.link.callOnHost(member.ref, 'host.no_such_message', [member.ref]));
      assert.equal(unknown.code, 'MESSAGE_METHOD_UNKNOWN');
    });

    it('a host that is not in the pool: HANDLE_INVALID', async () => {
      const nobody = `OpaqueRef:${randomUUID()}` as Ref<'host'>;
      const e = await apiRefusal(master.link.callOnHost(nobody, 'host.get_name_label', [nobody]));
      assert.equal(e.code, 'HANDLE_INVALID');
      assert.deepEqual(e.params, ['host', nobody]);
    });

    if (features.files) it('a member fetches a file kept under the master\'s data directory; a missing one fails', async () => {
      assert.ok(member.link.fetchFromMaster && fx.putOnMaster, 'the link claims to carry files but cannot');
      const content = Buffer.from(`kept on the master ${randomUUID()}\n`.repeat(1000));
      await fx.putOnMaster('contract/kept.bin', content);
      const dest = join(dir, 'fetched.bin');
      await member.link.fetchFromMaster('contract/kept.bin', dest);
      assert.ok((await readFile(dest)).equals(content));
      await assert.rejects(member.link.fetchFromMaster('contract/missing.bin', join(dir, 'missing.bin')), ApiError);
    });

    if (features.membership) it('the membership agrees with the link on who is master', async () => {
      assert.ok(master.link.membership && member.link.membership, 'the link claims to carry the membership but does not');
      assert.doesNotThrow(() => master.link.membership!.assertMaster());
      const e = await apiRefusal(Promise.resolve().then(() => member.link.membership!.assertMaster()));
      assert.equal(e.code, 'HOST_IS_SLAVE');
      assert.deepEqual(e.params, [fx.masterAddress]);
    });

    it('a host that cannot be reached: HOST_OFFLINE naming it, and this host still answers', async () => {
      await fx.takeMemberOffline();
      const e = await apiRefusal(master.link.callOnHost(member.ref, 'host.get_name_label', [member.ref]));
      assert.equal(e.code, 'HOST_OFFLINE');
      assert.deepEqual(e.params, [member.ref]);
      assert.equal(typeof await master.link.callOnHost(master.ref, 'host.get_name_label', [master.ref]), 'string');
    });
  });
}
